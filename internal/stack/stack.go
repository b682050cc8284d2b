// Package stack starts, kills and restarts the real processes that affrelay's load and failure tools
// (cmd/affrelay-bench, cmd/affrelay-chaos) run against on 127.0.0.1: a Temporal server (the dev server, or the
// server on PostgreSQL: cluster.go) and affrelay's own subcommands. Every process is a child the tool started
// and tracks by its own handle; nothing is ever found or signalled by name.
package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/affrelay/affrelay/worker"
)

// Process is one child process, started again with the same command line after it ends or is killed.
type Process struct {
	Path    string
	Args    []string
	Env     []string // nil: this process's environment
	LogPath string   // stdout and stderr, appended across restarts

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts the process; it fails when it is already running.
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running() {
		return fmt.Errorf("%s is already running (pid %d)", p.Path, p.cmd.Process.Pid)
	}
	logFile, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = p.Env, logFile, logFile
	// Its own process group, so a terminal's ^C reaches this tool, which then stops its children in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", p.Path, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(done) }()
	p.cmd, p.done = cmd, done
	return nil
}

func (p *Process) running() bool {
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Running reports whether the process is alive.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running()
}

// PID is the running process's id (0 when it is not running).
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running() {
		return 0
	}
	return p.cmd.Process.Pid
}

// Kill sends SIGKILL (kill -9: no shutdown, no flush) and waits for the process to be gone.
func (p *Process) Kill() {
	p.signal(syscall.SIGKILL, 0)
}

// Stop asks the process to end (SIGTERM), kills it after 15 s, and waits for it.
func (p *Process) Stop() {
	p.signal(syscall.SIGTERM, 15*time.Second)
}

func (p *Process) signal(sig syscall.Signal, grace time.Duration) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	alive := p.running()
	p.mu.Unlock()
	if !alive {
		return
	}
	_ = cmd.Process.Signal(sig)
	if grace > 0 {
		select {
		case <-done:
			return
		case <-time.After(grace):
			_ = cmd.Process.Kill()
		}
	}
	<-done
}

// EnvironWithoutAffrelay is this process's environment without AFFRELAY_* settings, which are for the caller
// to set for the child.
func EnvironWithoutAffrelay() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AFFRELAY_") {
			out = append(out, kv)
		}
	}
	return out
}

// lowestFreePort is where FreePort starts looking, above the well-known and most services' ports.
const lowestFreePort = 10000

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on now. It picks one below the kernel's
// ephemeral range when it can: a port from that range can become the local end of any outgoing connection
// between this check and the server's bind (a chaos run's dev server once failed with "bind: address already
// in use" so), while a port below it is only ever taken by a process binding it explicitly.
func FreePort() (int, error) {
	if below := ephemeralPortsStart(); below > lowestFreePort {
		for range 50 {
			port := lowestFreePort + rand.IntN(below-lowestFreePort)
			if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
				ln.Close()
				return port, nil
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// ephemeralPortsStart is the first port of the kernel's range for outgoing connections (0: unknown).
func ephemeralPortsStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(fields[0])
	return n
}

// Dial connects a Temporal client that logs nothing.
func Dial(addr string) (client.Client, error) {
	return client.Dial(client.Options{HostPort: addr, Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))})
}

// TemporalServer is a Temporal server process on a fixed frontend address, so that it can be killed and
// started again on the same address and data.
type TemporalServer struct {
	Process
	Addr string // the frontend, host:port
}

// NewDevServer prepares (does not start) a Temporal CLI dev server on a file SQLite database with WAL, on port (0: a free one) keeping its data and log in dir,
// started with worker.DevServerArgs, as `affrelay dev` starts it.
func NewDevServer(path, dir string, port int) (*TemporalServer, error) {
	if port == 0 {
		var err error
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	args := []string{"server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", strconv.Itoa(port),
		"--db-filename", filepath.Join(dir, "temporal.db"), "--log-level", "error"}
	args = append(args, worker.DevServerArgs()...)
	return &TemporalServer{
		Process: Process{Path: path, Args: args, LogPath: filepath.Join(dir, "temporal.log")},
		Addr:    fmt.Sprintf("127.0.0.1:%d", port),
	}, nil
}

// StartDevServer starts a dev server (see NewDevServer) and waits until it answers.
func StartDevServer(ctx context.Context, path, dir string) (*TemporalServer, error) {
	d, err := NewDevServer(path, dir, 0)
	if err != nil {
		return nil, err
	}
	if err := d.Start(ctx, 90*time.Second); err != nil {
		return nil, err
	}
	return d, nil
}

// Start starts the server (again) and waits up to timeout until its frontend answers a health check.
func (d *TemporalServer) Start(ctx context.Context, timeout time.Duration) error {
	if err := d.Process.Start(); err != nil {
		return err
	}
	if err := WaitTemporal(ctx, d.Addr, timeout); err != nil {
		d.Stop()
		return fmt.Errorf("Temporal server did not come up (see %s): %w", d.LogPath, err)
	}
	return nil
}

// WaitTemporal waits until the Temporal frontend at addr answers a health check.
func WaitTemporal(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := Dial(addr)
		if err == nil {
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			c.Close()
			if err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return errors.Join(err, ctx.Err())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// WaitReady waits until GET url answers 200.
func WaitReady(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s answered %d", url, resp.StatusCode)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return errors.Join(err, ctx.Err())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Admin calls affrelay's admin API.
type Admin struct {
	Base, Token string
}

// Call sends one admin API request and decodes the JSON answer; an answer other than 2xx is an error.
func (a Admin) Call(method, path string, body any) (map[string]any, error) {
	var out map[string]any
	return out, a.Decode(method, path, body, &out)
}

// Decode sends one admin API request and decodes the JSON answer into out.
func (a Admin) Decode(method, path string, body, out any) error {
	var reader io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		reader = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, a.Base+path, reader)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return json.Unmarshal(raw, out)
}

// LoadAverage is the machine's one-minute load average as /proc/loadavg shows it ("?" when unknown).
func LoadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(raw))[0]
}
