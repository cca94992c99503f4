package auth

import (
	"apie/internal/durable"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestUpdatePreservesAndSetsMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	orig := "# admins\nroot@x:" + hashA + ":Root\n\n# others\nbob:" + hashY + "\n"
	if err := os.WriteFile(path, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	err := Update(context.Background(), path, 0, func(p *Passwd) error {
		return p.Add(Entry{"new@x", hashB, "New"})
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), orig+"new@x:"+hashB+":New\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o640); got != want {
		t.Errorf("mode: got %v, want %v", got, want)
	}
	if err := Update(context.Background(), path, 0o600, func(p *Passwd) error { return p.Remove("bob") }); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode: got %v, want %v", fi.Mode().Perm(), os.FileMode(0o600))
	}
	assertNoTemps(t, filepath.Dir(path))
}

func TestUpdateMissingFileCreates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	if err := Update(context.Background(), path, 0, func(p *Passwd) error {
		return p.Add(Entry{"a@x", hashA, ""})
	}); err != nil {
		t.Fatal(err)
	}
	p, err := ReadPasswd(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Lookup("a@x"); !ok {
		t.Error("user not written")
	}
}

func TestUpdateAbortAndNoChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	orig := "a@x:" + hashA + "\n"
	if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(path)
	stop := errors.New("stop")
	err := Update(context.Background(), path, 0, func(p *Passwd) error {
		if err := p.Add(Entry{"b@x", hashA, ""}); err != nil {
			return err
		}
		return stop
	})
	if !errors.Is(err, stop) {
		t.Fatalf("got %v, want %v", err, stop)
	}
	err = Update(context.Background(), path, 0, func(p *Passwd) error { return p.Set(Entry{"a@x", hashA, ""}) })
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if !os.SameFile(before, after) || after.Mode().Perm() != 0o644 {
		t.Error("file was rewritten though nothing changed")
	}
	if b, _ := os.ReadFile(path); string(b) != orig {
		t.Errorf("got %q, want %q", b, orig)
	}
	if err := Update(context.Background(), path, 0, func(p *Passwd) error {
		return p.Add(Entry{"a@x", hashB, ""})
	}); !errors.Is(err, ErrExists) {
		t.Errorf("got %v, want %v", err, ErrExists)
	}
}

func TestUpdateBadFileRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(path, []byte("ok@x:"+hashA+"\nbroken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	called := false
	err := Update(context.Background(), path, 0, func(*Passwd) error { called = true; return nil })
	if err == nil || called {
		t.Fatalf("got err=%v called=%v, want an error and no call", err, called)
	}
}

func TestUpdateWaitsForLockAndHonoursContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	unlock, err := durable.Lock(context.Background(), path+".lock", 0o640)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = Update(ctx, path, 0, func(p *Passwd) error { return p.Add(Entry{"a@x", hashA, ""}) })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want %v", err, context.DeadlineExceeded)
	}
	unlock()
	if err := Update(context.Background(), path, 0, func(p *Passwd) error {
		return p.Add(Entry{"a@x", hashA, ""})
	}); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
}

func TestUpdateConcurrentGoroutines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(path, []byte("# keep\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- Update(context.Background(), path, 0, func(p *Passwd) error {
				return p.Add(Entry{fmt.Sprintf("g%d@x", i), hashA, ""})
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	assertUsers(t, path, "g", n)
	if b, _ := os.ReadFile(path); string(b[:7]) != "# keep\n" {
		t.Errorf("comment lost: got %q", b[:7])
	}
}

// TestUpdateConcurrentProcesses runs three copies of the test binary, each
// adding users in a loop while the others do, and checks none is lost.
func TestUpdateConcurrentProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	const procs, each = 3, 15
	cmds := make([]*exec.Cmd, procs)
	for i := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperUpdateProcess$")
		cmd.Env = append(os.Environ(),
			"APIE_AUTH_HELPER_PASSWD="+path,
			"APIE_AUTH_HELPER_PREFIX=p"+strconv.Itoa(i)+"-",
			"APIE_AUTH_HELPER_COUNT="+strconv.Itoa(each))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v", i, err)
		}
	}
	for i := range procs {
		assertUsers(t, path, "p"+strconv.Itoa(i)+"-", each)
	}
	p, err := ReadPasswd(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(p.Entries()), procs*each; got != want {
		t.Errorf("got %d users, want %d", got, want)
	}
	assertNoTemps(t, filepath.Dir(path))
}

// TestHelperUpdateProcess is the child of TestUpdateConcurrentProcesses;
// run directly, without its environment, it does nothing.
func TestHelperUpdateProcess(t *testing.T) {
	path := os.Getenv("APIE_AUTH_HELPER_PASSWD")
	if path == "" {
		return
	}
	prefix := os.Getenv("APIE_AUTH_HELPER_PREFIX")
	n, err := strconv.Atoi(os.Getenv("APIE_AUTH_HELPER_COUNT"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		err := Update(context.Background(), path, 0, func(p *Passwd) error {
			return p.Add(Entry{fmt.Sprintf("%s%d@x", prefix, i), hashA, "from " + prefix})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// assertUsers checks that users prefix0@x .. prefix(n-1)@x are in the file.
func assertUsers(t *testing.T, path, prefix string, n int) {
	t.Helper()
	p, err := ReadPasswd(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, ok := p.Lookup(fmt.Sprintf("%s%d@x", prefix, i)); !ok {
			t.Errorf("user %s%d@x lost", prefix, i)
		}
	}
}

// assertNoTemps checks that no temporary file was left in dir.
func assertNoTemps(t *testing.T, dir string) {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, ".*tmp-*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m) > 0 {
		t.Errorf("temp files left behind: %q", m)
	}
}
