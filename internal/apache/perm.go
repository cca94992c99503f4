package apache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
)

// account is who httpd runs its children as: user and group for the User
// and Group directives ("" when the caller's own), uid -1 for the caller.
type account struct {
	user, group string
	uid         int
}

// share prepares the files for the user the CGI programs will run as. For
// a caller that is not root there is nothing to do: httpd runs as the
// caller and so do its CGI programs. For root it picks the run user and
// group, chowns CGIDir, DocRoot, Writable and the run directory to them,
// and makes every ancestor of those searchable by others, so that user can
// reach them (temporary directories are often 0700).
func (o Options) share(l layout) (account, error) {
	if os.Geteuid() != 0 {
		return account{uid: -1}, nil
	}
	u, g, err := o.runAs()
	if err != nil {
		return account{}, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(g.Gid)
	dirs := []string{l.run}
	for _, d := range append([]string{o.CGIDir, o.DocRoot}, o.Writable...) {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return account{}, fmt.Errorf("apache: share %s: %w", d, err)
		}
		if err := chownTree(abs, uid, gid); err != nil {
			return account{}, err
		}
		if err := searchableAncestors(abs); err != nil {
			return account{}, err
		}
	}
	return account{user: u.Username, group: g.Name, uid: uid}, nil
}

// runAs resolves Options.User and Options.Group, defaulting to www-data
// (or nobody) and the user's primary group.
func (o Options) runAs() (*user.User, *user.Group, error) {
	names := []string{o.User}
	if o.User == "" {
		names = []string{"www-data", "nobody"}
	}
	var u *user.User
	var err error
	for _, n := range names {
		if u, err = user.Lookup(n); err == nil {
			break
		}
	}
	if u == nil {
		return nil, nil, fmt.Errorf("apache: run user %v: %w", names, err)
	}
	var g *user.Group
	if o.Group != "" {
		g, err = user.LookupGroup(o.Group)
	} else {
		g, err = user.LookupGroupId(u.Gid)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("apache: run group for %s: %w", u.Username, err)
	}
	return u, g, nil
}

// chownTree chowns root and everything under it (symlinks themselves, not
// their targets).
func chownTree(root string, uid, gid int) error {
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("apache: chown %s: %w", root, err)
	}
	return nil
}

// searchableAncestors adds the search (x) bit for others to every
// ancestor directory of p that lacks it, so a less privileged user can
// reach p. Nothing else about those directories changes.
func searchableAncestors(p string) error {
	for dir := filepath.Dir(p); ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("apache: stat %s: %w", dir, err)
		}
		if m := fi.Mode(); m.Perm()&0o001 == 0 {
			keep := m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
			if err := os.Chmod(dir, keep|0o001); err != nil {
				return fmt.Errorf("apache: make %s searchable: %w", dir, err)
			}
		}
		if parent := filepath.Dir(dir); parent == dir {
			return nil
		}
	}
}
