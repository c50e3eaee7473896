package testcluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// process is one component of the twin (kube-scheduler, kube-controller-manager, KWOK) run
// as a child process through guardedBinary, so that it dies with the process that started
// it, in a process group of its own, and stopped with SIGTERM and, after a bound, SIGKILL.
type process struct {
	name string
	cmd  *exec.Cmd
	tail *tailBuffer
	done chan struct{}
	err  error // cmd.Wait's result, set before done is closed
	// health is the URL of its health endpoint on the loopback interface.
	health string
}

// startProcess starts path with args (env nil: the parent's environment). Its output goes
// to out when not nil, and its last 16 KiB are kept for error messages.
func startProcess(name, path string, args, env []string, out io.Writer) (*process, error) {
	p := &process{name: name, tail: &tailBuffer{max: 16 << 10}, done: make(chan struct{})}
	var w io.Writer = p.tail
	if out != nil {
		w = io.MultiWriter(p.tail, out)
	}
	p.cmd = exec.Command(path, args...)
	p.cmd.Env = env
	// A process group of its own: Ctrl-C in a terminal signals the whole foreground group,
	// and the twin's components must be stopped by Stop, in order, not all at once by the
	// terminal (the scheduler exits 1 on SIGINT). It still dies with its parent
	// (guardedBinary).
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited returns a non-nil error when the process has ended on its own.
func (p *process) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited (%v)%s", p.name, p.err, p.outputTail())
	default:
		return nil
	}
}

func (p *process) outputTail() string {
	if p.tail.Len() == 0 {
		return ""
	}
	return fmt.Sprintf("\n--- last output of %s ---\n%s", p.name, p.tail.String())
}

// waitHealthy polls the health endpoint (HTTPS with a self-signed certificate, or HTTP)
// until it answers 200, the process ends, or timeout passes.
func (p *process) waitHealthy(ctx context.Context, timeout time.Duration) error {
	url := p.health
	client := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last string
	for {
		if err := p.exited(); err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy at %s within %s (last: %s)%s", p.name, url, timeout, last, p.outputTail())
		case <-p.done:
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM, waits up to timeout, then kills the process. It returns an error when
// the process had already ended on its own (the twin ran without it) or had to be killed.
func (p *process) stop(timeout time.Duration) error {
	if err := p.exited(); err != nil {
		return err
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("%s did not stop within %s of SIGTERM and was killed", p.name, timeout)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return "", errors.New("no TCP address")
	}
	return strconv.Itoa(addr.Port), nil
}
