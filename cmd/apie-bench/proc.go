package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/bcrypt"

	apieclient "apie/client"
)

// benchUser is a passwd entry the benchmark authenticates as.
type benchUser struct {
	email, password string
	cost            int
}

// The users: cost 4 for the main rows (so the floors compare transport
// and storage, not bcrypt), cost 10 (apie's default) for the auth rows.
var (
	user4  = benchUser{"bench4@example.com", "bench-password-cost-4", 4}
	user10 = benchUser{"bench10@example.com", "bench-password-cost-10", 10}
)

// basic returns the user's Authorization header value for basic auth.
func (u benchUser) basic() string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(u.email+":"+u.password))
}

// login returns the option that makes an apie client authenticate as
// the user (basic auth).
func (u benchUser) login() apieclient.Option { return apieclient.WithBasicAuth(u.email, u.password) }

// passwdFile returns a passwd file holding users, bcrypt-hashed at their
// own costs.
func passwdFile(users ...benchUser) ([]byte, error) {
	var b strings.Builder
	b.WriteString("# apie-bench users\n")
	for _, u := range users {
		h, err := bcrypt.GenerateFromPassword([]byte(u.password), u.cost)
		if err != nil {
			return nil, fmt.Errorf("hash password for %s: %w", u.email, err)
		}
		fmt.Fprintf(&b, "%s:%s:bench cost %d\n", u.email, h, u.cost)
	}
	return []byte(b.String()), nil
}

// instance is one apie configuration: apie.json, passwd, token key and
// data, all under dir.
type instance struct {
	dir, config, events, blobs string
}

// newInstance writes apie.json and passwd under dir.
func newInstance(dir string, passwd []byte) (*instance, error) {
	in := &instance{
		dir:    dir,
		config: filepath.Join(dir, "apie.json"),
		events: filepath.Join(dir, "data", "events"),
		blobs:  filepath.Join(dir, "data", "blobs"),
	}
	conf := map[string]any{
		"eventlog":     map[string]any{"path": "data/events"},
		"contentstore": map[string]any{"path": "data/blobs"},
		"passwd":       map[string]any{"path": "passwd"},
		"auth":         map[string]any{"bcryptCost": 4, "tokenKey": "token.key"},
		"limits":       map[string]any{"blobBytes": int64(1) << 30},
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("instance %s: %w", dir, err)
	}
	if err := os.WriteFile(in.config, b, 0o644); err != nil {
		return nil, fmt.Errorf("instance config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), passwd, 0o600); err != nil {
		return nil, fmt.Errorf("instance passwd: %w", err)
	}
	return in, nil
}

// proc is a server process the benchmark started.
type proc struct {
	name string
	cmd  *exec.Cmd
	url  string
	log  string // its stderr
	done chan struct{}
	err  error
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// startServe starts apie-serve for in on a free loopback port and waits
// until GET / answers.
func startServe(ctx context.Context, bin string, in *instance, logPath string) (*proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, "-addr", addr, "-config", in.config)
	cmd.Dir = in.dir
	p, err := launch("apie-serve", cmd, logPath, false)
	if err != nil {
		return nil, err
	}
	p.url = "http://" + addr
	if err := p.waitReady(ctx); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// serveFresh makes a fresh instance in the work directory's dir, starts
// apie-serve on it with its log in logName, and opens a keep-alive client
// as user4 with up to conns connections. The caller stops the server and
// closes the client; on an error nothing is left running.
func (b *bench) serveFresh(ctx context.Context, dir, logName string, conns int) (*instance, *proc, *client, error) {
	in, err := newInstance(filepath.Join(b.work, dir), b.passwd)
	if err != nil {
		return nil, nil, nil, err
	}
	p, err := startServe(ctx, b.bin.serve, in, b.logPath(logName))
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := newClient(p.url, user4.login(), true, conns)
	if err != nil {
		p.stop()
		return nil, nil, nil, err
	}
	return in, p, c, nil
}

// startTrivialServe starts the trivial net/http server; it prints its
// address first thing.
func startTrivialServe(ctx context.Context, bin, logPath string) (*proc, error) {
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p, err := launch("trivial-serve", cmd, logPath, true)
	if err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("trivial-serve: read its address: %w", err)
	}
	p.url = "http://" + strings.TrimSpace(line)
	if err := p.waitReady(ctx); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// launch starts cmd with its stderr (and, unless the caller piped it,
// its stdout) going to logPath.
func launch(name string, cmd *exec.Cmd, logPath string, stdoutPiped bool) (*proc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", name, err)
	}
	cmd.Stderr = logf
	if !stdoutPiped {
		cmd.Stdout = logf
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// waitReady polls GET / until it answers 200, the process exits, or 20
// seconds pass.
func (p *proc) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	hc := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/", nil)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited at start (%v); see %s:\n%s", p.name, p.err, p.log, tail(p.log))
		case <-ctx.Done():
			return fmt.Errorf("%s: no answer at %s: %w", p.name, p.url, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM (a graceful stop) and waits up to 30 seconds, then
// kills.
func (p *proc) stop() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop %s: %w", p.name, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop on SIGTERM within 30s; killed", p.name)
	}
}

// peakRSS returns the process's peak resident set (VmHWM) in bytes.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("peak RSS of %d: %w", pid, err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v)
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err != nil {
					return 0, fmt.Errorf("peak RSS of %d: %w", pid, err)
				}
				return kb << 10, nil
			}
		}
	}
	return 0, fmt.Errorf("peak RSS of %d: no VmHWM line", pid)
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last 2 KiB of the file at path, for error messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2048 {
		b = b[len(b)-2048:]
	}
	return string(b)
}
