package faults

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A cgiRequest is one request to apie-cgi, run as a web server would run
// it: the request in the environment, the body on stdin.
type cgiRequest struct {
	method   string
	pathInfo string
	query    string
	body     []byte
	header   map[string]string   // request headers, sent as HTTP_* variables
	env      []string            // more variables
	cred     *syscall.Credential // run as this user (nil: this process's)
}

// cgiCmd returns the command that answers r with apie-cgi on the store.
// The environment is exactly what a web server would pass (no inherited
// variables), plus APIE_CONFIG.
func (s *store) cgiCmd(ctx context.Context, r cgiRequest) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin.cgi)
	cmd.Env = []string{
		"GATEWAY_INTERFACE=CGI/1.1",
		"SERVER_PROTOCOL=HTTP/1.1",
		"SERVER_SOFTWARE=faults-test",
		"SERVER_NAME=localhost",
		"SERVER_PORT=80",
		"HTTP_HOST=localhost",
		"REMOTE_ADDR=127.0.0.1",
		"SCRIPT_NAME=/cgi-bin/apie",
		"REQUEST_METHOD=" + r.method,
		"PATH_INFO=" + r.pathInfo,
		"QUERY_STRING=" + r.query,
		"APIE_CONFIG=" + s.conf,
		"PATH=/usr/bin:/bin",
	}
	if r.body != nil {
		cmd.Env = append(cmd.Env, "CONTENT_LENGTH="+strconv.Itoa(len(r.body)))
		cmd.Stdin = bytes.NewReader(r.body)
	}
	for k, v := range r.header {
		name := "HTTP_" + strings.ToUpper(strings.ReplaceAll(k, "-", "_"))
		if k == "Content-Type" {
			name = "CONTENT_TYPE"
		}
		cmd.Env = append(cmd.Env, name+"="+v)
	}
	cmd.Env = append(cmd.Env, r.env...)
	if r.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred}
	}
	return cmd
}

// cgiAs returns r with alice's credentials.
func cgiAs(r cgiRequest) cgiRequest {
	h := map[string]string{"Authorization": basicAuth(alice, alicePW)}
	for k, v := range r.header {
		h[k] = v
	}
	r.header = h
	return r
}

// runCGI answers r with apie-cgi and returns the parsed response and the
// process's stderr. It fails the test if the process fails or its output
// is not a CGI response.
func (s *store) runCGI(t testing.TB, r cgiRequest) (response, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := s.cgiCmd(ctx, r)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("apie-cgi %s %s: %v\nstderr: %s", r.method, r.pathInfo, err, stderr.String())
	}
	res, err := parseCGI(stdout.Bytes())
	if err != nil {
		t.Fatalf("apie-cgi %s %s: %v\nstdout: %q", r.method, r.pathInfo, err, stdout.String())
	}
	return res, stderr.String()
}

// parseCGI parses a CGI response: a Status header, other headers, a blank
// line, the body.
func parseCGI(out []byte) (response, error) {
	br := bufio.NewReader(bytes.NewReader(out))
	mh, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil {
		return response{}, fmt.Errorf("parse CGI headers: %w", err)
	}
	h := http.Header(mh)
	status := h.Get("Status")
	if status == "" {
		return response{}, fmt.Errorf("CGI response has no Status header")
	}
	code, err := strconv.Atoi(strings.Fields(status)[0])
	if err != nil {
		return response{}, fmt.Errorf("CGI Status %q: %w", status, err)
	}
	body, _ := io.ReadAll(br)
	return response{status: code, header: h, body: body}, nil
}
