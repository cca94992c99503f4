package faults

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// TestDiskFull runs apie-serve on a 2 MiB tmpfs and fills it: uploads and
// appends that do not fit fail with 507 and a JSON error, leave nothing
// half-written (the blob is not served, the log holds exactly the
// acknowledged events and ends on a whole record, no temp file stays),
// and once space is freed the same server takes writes again and the store
// verifies.
func TestDiskFull(t *testing.T) {
	rBlob := newRow(t, rowFullBlob, "2 MiB tmpfs: PUT of a 3 MiB blob; PUT of 200 KiB with the disk full")
	rAppend := newRow(t, rowFullAppend, "disk filled to 48 KiB free, then appends of 6 KiB events and batches until 3 refusals")
	rFreed := newRow(t, rowFullFreed, "filler file removed; append and upload on the same running server; restart; verify")
	mnt := mountTmpfs(t, "2m")
	s := newStore(t, mnt, storeOptions{BlobBytes: 64 << 20})
	srv := s.start(t, serverOptions{})
	c := srv.client(alice, alicePW)
	led := newLedger()
	for i := 0; i < 5; i++ {
		mustAppend(t, c, led, appendBody(1, false, 256))
	}
	small, smallHash := randomBytes(10 << 10)
	if err := ackBlob(led, c.must(t, "PUT", "/storage/small.bin", small, nil), smallHash, len(small)); err != nil {
		t.Fatal(err)
	}

	// A blob larger than the whole file system.
	big, bigHash := randomBytes(3 << 20)
	res := c.must(t, "PUT", "/storage/big.bin", big, map[string]string{"Content-Type": "application/octet-stream"})
	mustInsufficient(t, "PUT of a 3 MiB blob on a 2 MiB disk", res)
	mustNotServe(t, c, bigHash)
	mustNoParts(t, s)
	blobRefusals := 1

	// Fill the disk, then free a little: appends fit until they do not.
	filler := fillDisk(t, mnt)
	if err := os.Truncate(filler, max(0, fileSize(t, filler)-48<<10)); err != nil {
		t.Fatal(err)
	}
	acked, refused := 0, 0
	for i := 0; i < 200 && refused < 3; i++ {
		res := c.must(t, "POST", "/events", appendBody(1+i%3, i%3 > 0, 6<<10), nil)
		switch res.status {
		case http.StatusCreated:
			if err := led.ackEvents(res.body); err != nil {
				t.Fatal(err)
			}
			acked++
		case http.StatusInsufficientStorage:
			mustInsufficient(t, "append on a full disk", res)
			refused++
		default:
			t.Fatalf("append on a filling disk: status %d, want 201 or 507: %s", res.status, res.body)
		}
	}
	if refused == 0 {
		t.Fatalf("200 appends of 6 KiB fitted in 48 KiB: the disk never filled, the test did not test")
	}
	// A blob that does not fit in what is left.
	mid, midHash := randomBytes(200 << 10)
	res = c.must(t, "PUT", "/storage/mid.bin", mid, nil)
	mustInsufficient(t, "PUT of a 200 KiB blob on a full disk", res)
	mustNotServe(t, c, midHash)
	mustNoParts(t, s)
	blobRefusals++

	// Nothing half-written: the log is exactly the acknowledged events.
	fullEvents, _ := led.counts()
	checkOnlyAcked(t, c, s, led, fullEvents)

	// Space again: the same server takes writes, and all verifies.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, c, led, appendBody(3, true, 6<<10))
	if err := ackBlob(led, c.must(t, "PUT", "/storage/mid.bin", mid, nil), midHash, len(mid)); err != nil {
		t.Fatalf("upload after space was freed: %v", err)
	}
	events, blobs := led.counts()
	checkOnlyAcked(t, c, s, led, events)
	checkBlobs(t, c, led)
	srv.Shutdown(t)
	s.mustVerify(t)

	rBlob.pass(blobRefusals,
		"507 with a JSON error each time; GET of the hash 404; no tmp/*.part left")
	rAppend.pass(acked+refused,
		fmt.Sprintf("%d appends acknowledged, then 507 with a JSON error; the log held exactly the %d acknowledged events, ending on a whole record; chain verified", acked, fullEvents))
	rFreed.pass(1,
		fmt.Sprintf("201 for both without a restart; %d events and %d blobs intact; `apie-serve verify` exit 0", events, blobs))
}

// mustAppend appends and fails the test unless the answer is 201.
func mustAppend(t testing.TB, c *client, led *ledger, body []byte) {
	t.Helper()
	res := c.must(t, "POST", "/events", body, nil)
	if res.status != http.StatusCreated {
		t.Fatalf("POST /events: status %d, want 201: %s", res.status, res.body)
	}
	if err := led.ackEvents(res.body); err != nil {
		t.Fatal(err)
	}
}

// mustInsufficient checks a 507 answer with apie's JSON error.
func mustInsufficient(t testing.TB, what string, res response) {
	t.Helper()
	if res.status != http.StatusInsufficientStorage {
		t.Fatalf("%s: status %d, want 507: %s", what, res.status, res.body)
	}
	if !isJSONError(res.body) {
		t.Fatalf("%s: body %q, want a JSON error", what, res.body)
	}
}

// mustNotServe checks that no blob is served under hash.
func mustNotServe(t testing.TB, c *client, hash string) {
	t.Helper()
	if res := c.must(t, "GET", "/storage/"+hash, nil, nil); res.status != http.StatusNotFound {
		t.Fatalf("GET /storage/%s of a refused upload: status %d, want 404", hash, res.status)
	}
}

// mustNoParts checks that no upload temp file is left in the store.
func mustNoParts(t testing.TB, s *store) {
	t.Helper()
	if parts := listParts(t, s.path("blobs", "tmp")); len(parts) > 0 {
		t.Fatalf("temp files left by a refused upload: %q", parts)
	}
}

// checkOnlyAcked checks that the log, read through the server and read
// from the file itself, holds exactly the acknowledged events (n of them)
// and ends on a whole record.
func checkOnlyAcked(t testing.TB, c *client, s *store, led *ledger, n int) {
	t.Helper()
	res := c.must(t, "HEAD", "/events", nil, nil)
	if got := res.header.Get("X-Apie-Count"); got != strconv.Itoa(n) {
		t.Fatalf("HEAD /events: X-Apie-Count %s, want %d (the acknowledged events)", got, n)
	}
	checkServerLog(t, c, led)
	raw, err := os.ReadFile(s.path("events", "log"))
	if err != nil {
		t.Fatal(err)
	}
	log, err := checkChain(raw)
	if err != nil {
		t.Fatalf("the log file: %v", err)
	}
	if len(log) != n {
		t.Fatalf("the log file holds %d records, want %d", len(log), n)
	}
	if err := led.checkAcked(log); err != nil {
		t.Fatalf("the log file: %v", err)
	}
}

// fillDisk writes a file in dir until the file system is full and returns
// its path.
func fillDisk(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill the disk: %v", err)
			}
			return path
		}
	}
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
