package e2e

import (
	"context"
	"debug/elf"
	"path/filepath"
	"testing"

	"apie/internal/testutil"
)

// TestDistIsStatic builds apie-cgi and apie-serve for linux/amd64 and
// linux/arm64 as `make dist` does (CGO_ENABLED=0, -trimpath) and checks
// that each is a static executable: no program interpreter, no dynamic
// section, no shared libraries needed. A shared host may have no libc of
// the right version, or none at all in a chroot.
func TestDistIsStatic(t *testing.T) {
	dir := t.TempDir()
	for _, arch := range []struct {
		goarch  string
		machine elf.Machine
	}{
		{"amd64", elf.EM_X86_64},
		{"arm64", elf.EM_AARCH64},
	} {
		for _, name := range []string{"apie-cgi", "apie-serve"} {
			t.Run(arch.goarch+"/"+name, func(t *testing.T) {
				out := filepath.Join(dir, arch.goarch, name)
				if err := testutil.GoBuild(context.Background(), out, testVersion, []string{"GOOS=linux", "GOARCH=" + arch.goarch}, "apie/cmd/"+name); err != nil {
					t.Fatal(err)
				}
				checkStatic(t, out, arch.machine)
			})
		}
	}
}

// checkStatic fails t unless the ELF file at path is a static executable
// for machine.
func checkStatic(t *testing.T, path string, machine elf.Machine) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("open %s as ELF: %v", path, err)
	}
	defer f.Close()
	if f.Machine != machine {
		t.Errorf("machine: got %v, want %v", f.Machine, machine)
	}
	if f.Type != elf.ET_EXEC {
		t.Errorf("type: got %v, want %v (a position-dependent static executable)", f.Type, elf.ET_EXEC)
	}
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			t.Errorf("has a program interpreter (PT_INTERP): it is dynamically linked")
		case elf.PT_DYNAMIC:
			t.Errorf("has a dynamic segment (PT_DYNAMIC)")
		}
	}
	if s := f.Section(".dynamic"); s != nil {
		t.Errorf("has a .dynamic section")
	}
	if s := f.Section(".interp"); s != nil {
		t.Errorf("has an .interp section")
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatalf("read imported libraries: %v", err)
	}
	if len(libs) != 0 {
		t.Errorf("needs shared libraries %q", libs)
	}
}
