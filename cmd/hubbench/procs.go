package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopGrace is how long a child gets to exit after SIGTERM before SIGKILL.
const stopGrace = 5 * time.Second

// child is a process hubbench started. Its stdout and stderr go to a log
// file in the temp dir.
type child struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	err     error         // the exit error, set before done is closed
}

// children are the processes to stop when the benchmark ends, whatever the
// reason: return, panic (deferred calls run) or a signal (which cancels the
// context). Each child also gets SIGKILL from the kernel if hubbench dies
// without cleaning up (see setDeathSignal).
type children struct {
	mu   sync.Mutex
	list []*child
}

// start runs bin with args, logging to dir/name.log.
func (cs *children) start(dir, name, bin string, args []string, env []string) (*child, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		f.Close()
		close(c.done)
	}()
	cs.mu.Lock()
	cs.list = append(cs.list, c)
	cs.mu.Unlock()
	return c, nil
}

// stopAll stops the children in reverse start order.
func (cs *children) stopAll() {
	cs.mu.Lock()
	list := cs.list
	cs.list = nil
	cs.mu.Unlock()
	for i := len(list) - 1; i >= 0; i-- {
		list[i].stop()
	}
}

// stop sends SIGTERM, then SIGKILL after stopGrace, and waits for the exit.
func (c *child) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(stopGrace):
		c.cmd.Process.Kill()
		<-c.done
	}
}

// logTail returns the last n bytes of the child's log.
func (c *child) logTail(n int64) string {
	f, err := os.Open(c.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > n {
		f.Seek(fi.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return strings.TrimSpace(string(b))
}

// waitReady polls url until want accepts the status, the child exits, or
// timeout passes.
func (c *child) waitReady(parent context.Context, url string, want func(status int) bool, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	client := newClient(1)
	defer closeClient(client)
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if want(resp.StatusCode) {
				return nil
			}
			last = "status " + strconv.Itoa(resp.StatusCode)
		} else {
			last = err.Error()
		}
		select {
		case <-c.done:
			return fmt.Errorf("%s exited before it was ready (%v); its output:\n%s", c.name, c.err, c.logTail(4096))
		case <-ctx.Done():
			if parent.Err() != nil {
				return fmt.Errorf("waiting for %s: %w", c.name, parent.Err())
			}
			return fmt.Errorf("%s not ready at %s after %s (last: %s); its output:\n%s", c.name, url, timeout, last, c.logTail(4096))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// rss is a process's resident memory in KiB: now and its peak (VmHWM).
type rss struct {
	KiB     int64 `json:"kib"`
	PeakKiB int64 `json:"peak_kib"`
}

// readRSS reads VmRSS and VmHWM from /proc/PID/status (Linux only).
func readRSS(pid int) (rss, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return rss{}, fmt.Errorf("read rss: %w", err)
	}
	return parseRSS(b)
}

func parseRSS(status []byte) (rss, error) {
	var r rss
	var found bool
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		f := strings.Fields(val) // "12345 kB"
		if len(f) != 2 || f[1] != "kB" {
			return rss{}, fmt.Errorf("read rss: bad %s line %q", key, sc.Text())
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return rss{}, fmt.Errorf("read rss: bad %s line %q", key, sc.Text())
		}
		if key == "VmRSS" {
			r.KiB, found = n, true
		} else {
			r.PeakKiB = n
		}
	}
	if !found {
		return rss{}, errors.New("read rss: no VmRSS line")
	}
	return r, nil
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

var flagLine = regexp.MustCompile(`(?m)^\s+-([A-Za-z0-9][A-Za-z0-9_.-]*)`)

// commandFlags runs "bin -h" and returns the flag names its usage lists.
func commandFlags(ctx context.Context, bin string) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-h").CombinedOutput()
	// flag.ExitOnError exits 2 after -h; only a failure to run matters.
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return nil, fmt.Errorf("%s -h: %w", bin, err)
	}
	return parseFlagNames(out), nil
}

func parseFlagNames(usage []byte) map[string]bool {
	names := map[string]bool{}
	for _, m := range flagLine.FindAllSubmatch(usage, -1) {
		names[string(m[1])] = true
	}
	return names
}

// createKey runs "hub keys create" and returns the new key, the last line
// of its output.
func createKey(ctx context.Context, hub, config string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, hub, "keys", "create", "--name", "bench", "-config", config)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("create api key: %w\n%s%s", err, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	key := strings.TrimSpace(lines[len(lines)-1])
	if key == "" || strings.ContainsAny(key, " \t") {
		return "", fmt.Errorf("create api key: no key on the last line of:\n%s", stdout.String())
	}
	return key, nil
}

// runHub runs a hub admin command to completion.
func runHub(ctx context.Context, hub string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, hub, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("hub %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}
