package testutil

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestSyncBufferConcurrentWrites(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte{byte('a' + i)})
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got, want := len(b.String()), 800; got != want {
		t.Fatalf("got %d bytes, want %d", got, want)
	}
}

func TestPickPortNeverRepeats(t *testing.T) {
	seen := map[int]bool{}
	for range 200 {
		p, err := PickPort()
		if err != nil {
			t.Fatal(err)
		}
		if p <= 0 || p > 65535 {
			t.Fatalf("got port %d, want 1..65535", p)
		}
		if seen[p] {
			t.Fatalf("got port %d twice", p)
		}
		seen[p] = true
	}
	if addr := FreeAddr(t); !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("got %q, want 127.0.0.1:port", addr)
	}
}

func TestSkipOrFail(t *testing.T) {
	const env = "TESTUTIL_TEST_REQUIRE"
	for _, tt := range []struct {
		value              string
		wantFail, wantSkip bool
	}{{"1", true, false}, {"", false, true}, {"0", false, true}} {
		t.Run("env="+tt.value, func(t *testing.T) {
			t.Setenv(env, tt.value)
			f := &fakeTB{TB: t}
			f.run(func(tb testing.TB) { SkipOrFail(tb, env, "the thing is missing") })
			if f.failed != tt.wantFail || f.skipped != tt.wantSkip {
				t.Fatalf("got failed %v skipped %v, want %v %v", f.failed, f.skipped, tt.wantFail, tt.wantSkip)
			}
			if !strings.Contains(f.msg, "the thing is missing") || !strings.Contains(f.msg, env+"=1") {
				t.Errorf("got %q, want the reason and %s=1 named", f.msg, env)
			}
		})
	}
}

func TestCommandRun(t *testing.T) {
	c := Command{Path: os.Args[0], Args: []string{"-config", "x.json"}, Env: []string{"TESTUTIL_HELPER=echo"}}
	for _, tt := range []struct {
		name, exit string
		wantCode   int
	}{{"exit 0", "0", 0}, {"exit 3", "3", 3}} {
		t.Run(tt.name, func(t *testing.T) {
			c := c
			c.Env = append(c.Env, "HELPER_EXIT="+tt.exit)
			out, code, err := c.Run(context.Background(), "secret\n", "user", "add", "a@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Errorf("got exit %d, want %d", code, tt.wantCode)
			}
			if want := "args=-config x.json user add a@example.com\nstdin=secret\n"; out != want {
				t.Errorf("got %q, want %q", out, want)
			}
		})
	}
	t.Run("missing program", func(t *testing.T) {
		_, _, err := Command{Path: filepath.Join(t.TempDir(), "nothing")}.Run(context.Background(), "")
		if err == nil {
			t.Fatal("got nil error, want one")
		}
	})
}

func TestCommandMustAndAddUser(t *testing.T) {
	c := Command{Path: os.Args[0], Dir: t.TempDir(), Env: []string{"TESTUTIL_HELPER=echo"}}
	if got, want := c.Must(t, "in\n", "verify"), "args=verify\nstdin=in\n"; got != want {
		t.Errorf("Must: got %q, want %q", got, want)
	}
	f := &fakeTB{TB: t}
	f.run(func(tb testing.TB) { c.AddUser(tb, "b@example.com", "pw", "Bob") })
	if f.failed {
		t.Fatalf("AddUser failed: %s", f.msg)
	}
	bad := c
	bad.Env = append(bad.Env, "HELPER_EXIT=1")
	f = &fakeTB{TB: t}
	f.run(func(tb testing.TB) { bad.AddUser(tb, "b@example.com", "pw") })
	if !f.failed || !strings.Contains(f.msg, "exit 1") || !strings.Contains(f.msg, "stdin=pw") {
		t.Fatalf("got failed %v with %q, want a failure naming exit 1 and the output", f.failed, f.msg)
	}
}

func TestProcStopKillsTheGroup(t *testing.T) {
	p := StartProc(t, "parent", helperCmd("parent"), syscall.SIGTERM, 10*time.Second)
	var child int
	deadline := time.Now().Add(10 * time.Second)
	for child == 0 {
		if line, ok := strings.CutPrefix(p.Output.String(), "child="); ok {
			child, _ = strconv.Atoi(strings.TrimSpace(line))
		}
		if time.Now().After(deadline) {
			t.Fatalf("no child pid in %q", p.Output.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if p.Exited() || p.ExitCode() != -1 || p.Err() != nil {
		t.Fatalf("running process: got exited %v, code %d, err %v", p.Exited(), p.ExitCode(), p.Err())
	}
	p.Stop(t, syscall.SIGTERM, 10*time.Second)
	if !p.Exited() {
		t.Fatal("got a running process after Stop")
	}
	if err := syscall.Kill(child, 0); err == nil {
		t.Fatalf("child %d still alive after Stop", child)
	}
	if p.Kill() {
		t.Error("Kill after Stop: got true, want false (already gone)")
	}
	p.Stop(t, syscall.SIGTERM, time.Second) // a second Stop does nothing
}

func TestProcKill(t *testing.T) {
	p := StartProc(t, "sleep", helperCmd("sleep"), syscall.SIGKILL, time.Second)
	if !p.Kill() {
		t.Fatal("Kill of a running process: got false, want true")
	}
	if p.Err() == nil || p.ExitCode() != -1 {
		t.Fatalf("got err %v, exit code %d; want a kill", p.Err(), p.ExitCode())
	}
}

func TestStartServe(t *testing.T) {
	var stdout SyncBuffer
	s := StartServe(t, ServeOptions{Binary: os.Args[0], Config: "apie.json", Env: []string{"TESTUTIL_HELPER=serve"}, Stdout: &stdout})
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") || s.URL != "http://"+s.Addr {
		t.Fatalf("got URL %q, address %q", s.URL, s.Addr)
	}
	resp, err := http.Get(s.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "Apie helper\n" {
		t.Fatalf("got %q, want %q", body, "Apie helper\n")
	}
	if !s.WaitHTTP(context.Background(), s.URL+"/", "Apie helper", 5*time.Second) {
		t.Error("WaitHTTP: got false, want true for the right marker")
	}
	if s.WaitHTTP(context.Background(), s.URL+"/", "someone else", 200*time.Millisecond) {
		t.Error("WaitHTTP: got true, want false for a marker not served")
	}
	s.Shutdown(t)
	if s.ExitCode() != 0 {
		t.Errorf("got exit code %d, want 0", s.ExitCode())
	}
	if !strings.Contains(stdout.String(), "on stdout") || strings.Contains(s.Output.String(), "on stdout") {
		t.Errorf("stdout went astray: stdout %q, output %q", stdout.String(), s.Output.String())
	}
}

func TestShutdownFailsOnABadExit(t *testing.T) {
	s := StartServe(t, ServeOptions{Binary: os.Args[0], Env: []string{"TESTUTIL_HELPER=serve", "HELPER_EXIT=4"}})
	f := &fakeTB{TB: t}
	f.run(func(tb testing.TB) { s.Shutdown(tb) })
	if !f.failed || !strings.Contains(f.msg, "exit status 4") {
		t.Fatalf("got failed %v with %q, want a failure naming exit status 4", f.failed, f.msg)
	}
}

func TestTryStartServeRefused(t *testing.T) {
	s, err := TryStartServe(t, ServeOptions{Binary: os.Args[0], Env: []string{"TESTUTIL_HELPER=refuse"}})
	if err == nil {
		t.Fatal("got nil error, want a refusal")
	}
	if s == nil || !s.Exited() || s.ExitCode() != 1 {
		t.Fatalf("got %+v, want the exited server with exit code 1", s)
	}
	if !strings.Contains(s.Output.String(), "no good reason") || !strings.Contains(err.Error(), "no good reason") {
		t.Errorf("got output %q and error %q, want the reason in both", s.Output.String(), err)
	}
}

func TestStartServeRetriesATakenPort(t *testing.T) {
	once := filepath.Join(t.TempDir(), "once")
	s := StartServe(t, ServeOptions{Binary: os.Args[0], Env: []string{"TESTUTIL_HELPER=busy", "HELPER_ONCE=" + once}})
	if _, err := os.Stat(once); err != nil {
		t.Fatalf("the first attempt did not run: %v", err)
	}
	if s.Addr == "" || s.Exited() {
		t.Fatalf("got address %q, exited %v; want a running server", s.Addr, s.Exited())
	}
}

func TestGoBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds apie-serve; skipped with -short")
	}
	out := filepath.Join(t.TempDir(), "apie-serve")
	if err := GoBuild(context.Background(), out, "testutil-v1", nil, ServePackage); err != nil {
		t.Fatal(err)
	}
	info, err := exec.Command("go", "version", "-m", out).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, info)
	}
	for _, want := range []string{"-trimpath=true", "CGO_ENABLED=0"} {
		if !strings.Contains(string(info), want) {
			t.Errorf("build info lacks %q:\n%s", want, info)
		}
	}
	// -trimpath keeps -ldflags out of the build info: look for the
	// stamped version in the binary itself.
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(bin, []byte("testutil-v1")) {
		t.Error("the binary does not hold the stamped version testutil-v1")
	}
	err = GoBuild(context.Background(), out, "", nil, "apie/no/such/package")
	if err == nil || !strings.Contains(err.Error(), "apie/no/such/package") {
		t.Fatalf("got %v, want an error naming the missing package", err)
	}
}
