// Command scalebench measures `lsstgen render` on 5, 50 and 200 synthetic instances: wall
// time, CPU time (user + system) and peak resident memory of the process, for a full
// render, a render with a warm cache, and a render after one instance changed. It prints a
// Markdown table.
//
//	go build -o .bin/lsstgen ./cmd/lsstgen && go run ./hack/scalebench -lsstgen .bin/lsstgen
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/synth"
)

type measure struct {
	wall, cpu time.Duration
	peakMiB   float64
}

func main() {
	bin := flag.String("lsstgen", ".bin/lsstgen", "the lsstgen binary to measure")
	sizes := flag.String("sizes", "5,50,200", "numbers of synthetic instances")
	jobs := flag.Int("j", 0, "render concurrency (0: one per CPU)")
	flag.Parse()
	root, err := manifest.FindRoot(".")
	if err != nil {
		fail(err)
	}
	exe, err := filepath.Abs(*bin)
	if err != nil {
		fail(err)
	}
	fmt.Printf("lsstgen render of synthetic instances, %d CPUs, -j %d\n\n", runtime.NumCPU(), *jobs)
	fmt.Println("| instances | run | wall | CPU (user+sys) | peak RSS | wall per instance |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			fail(err)
		}
		dir, err := os.MkdirTemp("", "lsstgen-scale-")
		if err != nil {
			fail(err)
		}
		if err := synth.Repo(root, dir, n); err != nil {
			fail(err)
		}
		j := strconv.Itoa(*jobs)
		runs := []struct {
			name   string
			before func()
			args   []string
		}{
			{"full render (no cache)", nil, []string{"render", "--no-cache", "-j", j}},
			{"full render, filling the cache", nil, []string{"render", "-j", j}},
			{"warm cache, nothing changed", nil, []string{"render", "-j", j}},
			{"one instance changed", func() {
				if err := synth.WriteInstance(dir, n/2, "\ninstance: aspects: notebook: idleCullMinutes: 30\n"); err != nil {
					fail(err)
				}
			}, []string{"render", "-j", j}},
		}
		for _, r := range runs {
			if r.before != nil {
				r.before()
			}
			m := run(exe, dir, r.args)
			fmt.Printf("| %d | %s | %.2f s | %.2f s | %.0f MiB | %.1f ms |\n", n, r.name, m.wall.Seconds(), m.cpu.Seconds(), m.peakMiB, float64(m.wall.Milliseconds())/float64(n))
		}
		os.RemoveAll(dir)
	}
}

func run(exe, dir string, args []string) measure {
	cmd := exec.Command(exe, append([]string{"-C", dir}, args...)...)
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		fail(fmt.Errorf("%s %v: %w", exe, args, err))
	}
	wall := time.Since(start)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return measure{wall: wall, cpu: cpu, peakMiB: float64(ru.Maxrss) / 1024}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "scalebench:", err)
	os.Exit(1)
}
