//go:build !linux

package bench

import (
	"os/exec"
	"time"
)

func setChildAttrs(*exec.Cmd) {}

func processCPU(int) (time.Duration, string, error) { return 0, "", errNoCPU }

func selfCPU() time.Duration { return 0 }

func threadCPU() (time.Duration, bool) { return 0, false }

func loadAverage() []float64 { return nil }
