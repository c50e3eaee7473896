package gitsource

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
)

// CommandError is a git command that failed: what it was asked, what it wrote on stderr,
// and the failure itself (an *exec.ExitError, or why git could not start).
type CommandError struct {
	Args   []string
	Stderr string
	Err    error
}

func (e *CommandError) Error() string {
	if e.Stderr != "" {
		return "git " + e.Args[0] + ": " + e.Stderr
	}
	return "git " + e.Args[0] + ": " + e.Err.Error()
}

func (e *CommandError) Unwrap() error { return e.Err }

// exitCode is the exit status of a git command that ran and failed, or -1.
func (e *CommandError) exitCode() int {
	var ee *exec.ExitError
	if errors.As(e.Err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// git runs git in dir and returns its standard output. Pathspecs are literal (an instance
// name is never a glob), prompts are off and messages are in English, so that a failure
// reads the same everywhere.
func git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"--literal-pathspecs"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, &CommandError{Args: args, Stderr: strings.TrimSpace(stderr.String()), Err: err}
	}
	return out, nil
}
