package secrets

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// nextPath is the file holding the new key of a rotation in progress.
func nextPath(path string) string { return path + ".next" }

// maxKeyFileSize bounds what is read from a key file: a key is at most 65
// bytes, the rest is room for white space.
const maxKeyFileSize = 1024

// readKeyFile reads the key in the file at path and returns it with the
// file's stat (of the file actually read, so that a later change is seen). A
// missing file is an error wrapping fs.ErrNotExist. A file that group or
// others may access is refused: the key would not be secret.
func readKeyFile(path string) ([]byte, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err // *PathError: names the path, nothing else
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("master key file %s is not a regular file", path)
	}
	if err := checkPerm(path, fi); err != nil {
		return nil, nil, err
	}
	buf, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read master key file %s: %w", path, err)
	}
	defer clear(buf)
	if len(buf) > maxKeyFileSize {
		return nil, nil, fmt.Errorf("master key file %s: larger than %d bytes; %s", path, maxKeyFileSize, keyFormatHint)
	}
	raw, err := parseKey(string(buf))
	if err != nil {
		return nil, nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return raw, fi, nil
}

// checkPerm refuses a key file that group or others may access. Windows
// has no such permission bits; there the file's ACL is the operator's.
func checkPerm(path string, fi os.FileInfo) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("master key file %s has mode %04o, which lets group or others read it: run `chmod 600 %s`", path, perm, path)
	}
	return nil
}

// writeKeyFile writes raw, hex-encoded, to path with mode 0600, atomically:
// the key goes to a temporary file in the same directory, which is synced and
// then renamed over path (replace) or hard-linked to path (!replace: this
// fails with an error wrapping fs.ErrExist when path exists, so that two
// processes creating the same key file at once cannot both win), and the
// directory is synced. A reader sees either no file or the whole key.
func writeKeyFile(path string, raw []byte, replace bool) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write master key file: %w", err)
	}
	tmpName := tmp.Name()
	defer func() {
		if tmp != nil {
			tmp.Close()
		}
		os.Remove(tmpName) // after a link or a failure; a no-op after a rename
	}()
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("write master key file: %w", err)
	}
	buf := make([]byte, 2*len(raw)+1)
	defer clear(buf)
	hex.Encode(buf, raw)
	buf[len(buf)-1] = '\n'
	if _, err := tmp.Write(buf); err != nil {
		return fmt.Errorf("write master key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write master key file: %w", err)
	}
	err = tmp.Close()
	tmp = nil
	if err != nil {
		return fmt.Errorf("write master key file: %w", err)
	}
	if replace {
		err = os.Rename(tmpName, path)
	} else {
		err = os.Link(tmpName, path)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			// No hard links on this file system: fall back to a rename,
			// which is atomic but could replace a file created since
			// this check.
			if _, serr := os.Lstat(path); errors.Is(serr, fs.ErrNotExist) {
				err = os.Rename(tmpName, path)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("write master key file: %w", err)
	}
	return syncDir(dir)
}

// syncDir makes a rename, link or removal in dir durable. Windows cannot
// sync a directory (and does not need to).
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// sameFile reports whether two stats describe the same, unchanged file
// (both nil: both absent).
func sameFile(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}
