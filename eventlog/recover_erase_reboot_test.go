package eventlog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"apie/event"
)

// TestEraseAfterReboot: after a reboot the first writer reads the log
// again from the indexes' synced mark to rebuild seq.idx (see
// TestSeqIdxHoleAfterReboot). An event erased past that mark is a valid
// record there (body null, padded with spaces), and so is one whose erase
// a power loss cut while its record was being overwritten (half old, half
// new) when the erase intent names exactly that record: the writer must
// index both and finish the erase, not record damage.
func TestEraseAfterReboot(t *testing.T) {
	const synced, total, target = 10, 30, 15
	for _, tc := range []struct {
		name string
		die  eraseStep // 0: the erase completes
	}{
		{"erased", 0},
		{"erase cut mid-overwrite", eraseHalfWritten},
		{"erase cut after the overwrite", eraseOverwritten},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := testOpts(dir, nil)
			opts.bootID = func() string { return "boot-A" }
			l := openLog(t, opts)
			hs := appendN(t, l, synced)
			if err := l.Checkpoint(context.Background()); err != nil {
				t.Fatal(err)
			}
			hs = append(hs, appendN(t, l, total-synced)...)
			if tc.die != 0 {
				l.hooks.eraseStep = func(s eraseStep) error {
					if s == tc.die {
						return errDied
					}
					return nil
				}
			}
			if _, err := l.Erase(context.Background(), hs[target-1], "r", "admin"); tc.die == 0 && err != nil {
				t.Fatal(err)
			} else if tc.die != 0 && !errors.Is(err, errDied) {
				t.Fatalf("Erase = %v, want it to die", err)
			}
			l.closeFiles() // the machine died: no checkpoint

			rec := &logRecorder{}
			opts = testOpts(dir, rec)
			opts.bootID = func() string { return "boot-B" }
			after := openLog(t, opts)
			if _, err := os.Stat(filepath.Join(dir, damagedName)); err == nil {
				t.Fatalf("an erased record past the synced mark was recorded as damage:\n%s", rec)
			}
			mustAppend(t, after, draft("t", `{"after":"reboot"}`))
			rep := mustVerify(t, after)
			if rep.Erased != 1 {
				t.Fatalf("Verify counts %d erased events, want 1\nlog:\n%s", rep.Erased, rec)
			}
			got, err := after.Record(context.Background(), target)
			if err != nil {
				t.Fatal(err)
			}
			if _, erased, err := event.VerifyErasable(trimPad(got)); err != nil || !erased {
				t.Fatalf("record %d is not erased: %.80q", target, got)
			}
			if _, err := os.Stat(filepath.Join(dir, erasingName)); err == nil {
				t.Fatal("the erase intent is still there")
			}
		})
	}
}
