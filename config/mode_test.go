package config

import (
	"io/fs"
	"testing"
)

func TestParseMode(t *testing.T) {
	tests := []struct {
		in      string
		want    fs.FileMode
		wantErr bool
	}{
		{"rw-r-----", 0o640, false},
		{"rwxr-x---", 0o750, false},
		{"---------", 0, false},
		{"rwxrwxrwx", 0o777, false},
		{"r--------", 0o400, false},
		{"--------x", 0o001, false},
		{"", 0, true},
		{"rw-r----", 0, true},
		{"rw-r------", 0, true},
		{"wr-r-----", 0, true},
		{"rw-r--r-X", 0, true},
		{"0640xxxxx", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMode(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got mode %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %o, want %o", got, tt.want)
			}
			if back := FormatMode(got); back != tt.in {
				t.Fatalf("FormatMode: got %q, want %q", back, tt.in)
			}
		})
	}
}

func TestFormatModeRoundTrip(t *testing.T) {
	for m := fs.FileMode(0); m <= 0o777; m++ {
		s := FormatMode(m | fs.ModeDir)
		got, err := ParseMode(s)
		if err != nil {
			t.Fatalf("%o: %v", m, err)
		}
		if got != m {
			t.Fatalf("got %o, want %o (via %q)", got, m, s)
		}
	}
}

func FuzzParseMode(f *testing.F) {
	for _, s := range []string{"rw-r-----", "rwxrwxrwx", "---------", "rw-", "rw-r----\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMode(s)
		if err != nil {
			return
		}
		if got := FormatMode(m); got != s {
			t.Fatalf("got %q, want %q", got, s)
		}
	})
}
