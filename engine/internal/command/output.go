package command

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
)

// Stream names one of a command's output streams.
type Stream int

const (
	Stdout Stream = iota
	Stderr
)

func (s Stream) String() string {
	if s == Stderr {
		return "stderr"
	}
	return "stdout"
}

// LineSink receives the output lines that may be logged.
type LineSink func(stream Stream, line string)

// RunSpec is one command to run.
type RunSpec struct {
	Op      string // create, update, delete or run: used in messages
	Command string
	Stdin   *string
	// Env is the user's environment. Remote runners fail when the server
	// refuses one of these variables.
	Env map[string]string
	// PrevEnv holds PULUMI_COMMAND_STDOUT/PULUMI_COMMAND_STDERR. Remote
	// runners pass them where the server accepts them and skip them otherwise.
	PrevEnv map[string]string
	Logging Logging
	Sink    LineSink // may be nil
	// Mask hides secret text in lines quoted in errors; nil quotes as is.
	Mask func(string) string
}

// Result is what a command printed, each stream without its final newline.
type Result struct {
	Stdout string
	Stderr string
}

// Runner runs commands somewhere.
type Runner interface {
	Run(ctx context.Context, spec RunSpec) (Result, error)
}

// capture keeps everything written to one stream and hands complete lines to
// a sink, when that stream may be logged.
type capture struct {
	mu      sync.Mutex
	stream  Stream
	sink    LineSink
	all     bytes.Buffer
	partial []byte
}

func newCapture(stream Stream, spec RunSpec) *capture {
	c := &capture{stream: stream}
	allowed := spec.Logging.Stdout()
	if stream == Stderr {
		allowed = spec.Logging.Stderr()
	}
	if allowed {
		c.sink = spec.Sink
	}
	return c
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.all.Write(p)
	if c.sink == nil {
		return len(p), nil
	}
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSuffix(string(c.partial[:i]), "\r")
		c.partial = c.partial[i+1:]
		c.sink(c.stream, line)
	}
	return len(p), nil
}

// flush hands a final line without a newline to the sink.
func (c *capture) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sink != nil && len(c.partial) > 0 {
		c.sink(c.stream, string(c.partial))
	}
	c.partial = nil
}

// text is the whole stream with one trailing newline removed, as upstream does.
func (c *capture) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.TrimSuffix(c.all.String(), "\n")
}

// tailLines keeps the last n lines of s.
func tailLines(s string, n int) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

const errorTailLines = 20

// CommandError reports a command that ran but did not succeed.
type CommandError struct {
	Op       string
	Where    string // "locally" or "on HOST:PORT"
	ExitCode int    // -1 when the command ended without an exit code
	Reason   string // set when ExitCode is -1 (signal, lost connection)
	Stream   string // which stream the quoted lines come from
	Lines    []string
}

func (e *CommandError) Error() string {
	var b strings.Builder
	if e.ExitCode >= 0 {
		fmt.Fprintf(&b, "%s command failed %s with exit code %d", e.Op, e.Where, e.ExitCode)
	} else {
		fmt.Fprintf(&b, "%s command failed %s: %s", e.Op, e.Where, e.Reason)
	}
	if len(e.Lines) > 0 {
		fmt.Fprintf(&b, "; last lines of %s:", e.Stream)
		for _, l := range e.Lines {
			b.WriteString("\n    ")
			b.WriteString(l)
		}
	}
	return b.String()
}

// newCommandError quotes the last lines of stderr, or of stdout when stderr is
// empty, but only streams that logging allows to be shown.
func newCommandError(spec RunSpec, where string, code int, reason string, out, errOut string) *CommandError {
	e := &CommandError{Op: spec.Op, Where: where, ExitCode: code, Reason: reason}
	if spec.Logging.Stderr() && strings.TrimSpace(errOut) != "" {
		e.Stream, e.Lines = "stderr", tailLines(errOut, errorTailLines)
	} else if spec.Logging.Stdout() && strings.TrimSpace(out) != "" {
		e.Stream, e.Lines = "stdout", tailLines(out, errorTailLines)
	}
	if spec.Mask != nil {
		for i, l := range e.Lines {
			e.Lines[i] = spec.Mask(l)
		}
	}
	return e
}

// contextError explains why a command was stopped, or returns nil.
func contextError(ctx context.Context, op string) error {
	switch ctx.Err() {
	case nil:
		return nil
	case context.DeadlineExceeded:
		return fmt.Errorf("%s command timed out and was stopped", op)
	default:
		return fmt.Errorf("%s command was cancelled and stopped", op)
	}
}
