package main

// The durable peer: NATS JetStream with a file-storage stream, one
// replica and sync_interval: always (an fsync per acknowledged publish),
// on the same disk as apie's data, published to by its own Go client with
// an ack per message. nats-server is built from the module (a tool
// dependency in go.mod, so the version is pinned and the build needs
// nothing but the module proxy); only apie-bench imports the client, so
// neither reaches apie's binaries.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsServerPkg is the nats-server main package, pinned by go.mod's tool
// directive.
const natsServerPkg = "github.com/nats-io/nats-server/v2"

// jetstreamPeer is a running nats-server and a client publishing to its
// stream.
type jetstreamPeer struct {
	p  *proc
	nc *nats.Conn
	js jetstream.JetStream
}

// startJetStream builds nats-server, starts it with its store under
// dir (the work directory: apie's disk), creates the stream and connects.
func (b *bench) startJetStream(ctx context.Context, dir string) (*jetstreamPeer, error) {
	bin := filepath.Join(b.work, "bin", "nats-server")
	if _, err := os.Stat(bin); err != nil {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, natsServerPkg)
		cmd.Dir = b.repo
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build nats-server: %w\n%s", err, out)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	conf := filepath.Join(dir, "nats.conf")
	body := fmt.Sprintf("listen: %q\njetstream {\n  store_dir: %q\n  sync_interval: always\n}\n", addr, filepath.Join(dir, "store"))
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		return nil, fmt.Errorf("nats config: %w", err)
	}
	p, err := launch("nats-server", exec.Command(bin, "-c", conf), b.logPath("nats-server.log"), false)
	if err != nil {
		return nil, err
	}
	peer := &jetstreamPeer{p: p}
	deadline := time.Now().Add(20 * time.Second)
	for {
		peer.nc, err = nats.Connect("nats://"+addr, nats.Timeout(time.Second))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("nats-server: no answer at %s: %w; see %s", addr, err, p.log)
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("nats-server exited at start (%v); see %s:\n%s", p.err, p.log, tail(p.log))
		case <-time.After(20 * time.Millisecond):
		}
	}
	if peer.js, err = jetstream.New(peer.nc); err == nil {
		_, err = peer.js.CreateStream(ctx, jetstream.StreamConfig{
			Name: "BENCH", Subjects: []string{"bench.>"},
			Storage: jetstream.FileStorage, Replicas: 1,
		})
	}
	if err != nil {
		peer.close()
		return nil, fmt.Errorf("nats stream: %w", err)
	}
	return peer, nil
}

// publish publishes one event and waits for its ack (stored and, with
// sync_interval: always, fsync'd).
func (j *jetstreamPeer) publish(ctx context.Context, data []byte) error {
	ack, err := j.js.Publish(ctx, "bench.append", data)
	if err != nil {
		return fmt.Errorf("nats publish: %w", err)
	}
	if ack.Sequence == 0 {
		return fmt.Errorf("nats publish: ack without a sequence")
	}
	return nil
}

func (j *jetstreamPeer) close() {
	if j.nc != nil {
		j.nc.Close()
	}
	j.p.stop()
}

// jetstreamRows measures, interleaved one of each in turn, apie-serve's
// single-client durable append and a JetStream publish of the same
// request body with its ack.
func (b *bench) jetstreamRows(ctx context.Context, c4 *client) error {
	peer, err := b.startJetStream(ctx, filepath.Join(b.work, "nats"))
	if err != nil {
		return err
	}
	defer peer.close()
	next := 5 << 30
	apie := func(int) error {
		next++
		_, err := c4.call(ctx, http.MethodPost, "/events", appendEvent(next), false, []int{http.StatusCreated})
		return err
	}
	pub := func(i int) error { return peer.publish(ctx, appendEvent(next+i)) }
	ss, err := timeInterleaved(ctx, 20, b.sz.appendN, b.sz.budget, pub, apie)
	if err != nil {
		return err
	}
	js, ap := ss[0], ss[1]
	b.res.jetstream, b.res.appendVsJS = js, ap
	size := len(appendEvent(next))
	for _, pct := range []float64{50, 99} {
		b.rep.add(fmt.Sprintf("apie-serve append p%.0f, 1 client, vs NATS JetStream publish with ack (file stream, 1 replica, sync_interval: always; same %d-byte body, same disk, interleaved)", pct, size),
			fmtDur(ap.pct(pct)), fmt.Sprintf("JetStream %s", fmtDur(js.pct(pct))), fmtRatio(float64(ap.pct(pct))/float64(js.pct(pct))))
	}
	return nil
}
