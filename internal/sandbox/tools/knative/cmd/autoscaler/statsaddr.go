package main

import "os"

//go:generate ./gen.sh

// statsServerAddr is where the autoscaler receives metrics; upstream fixes it
// at ":8080", which only one process per machine can bind.
var statsServerAddr = func() string {
	if addr := os.Getenv("AUTOSCALER_STATS_ADDR"); addr != "" {
		return addr
	}
	return ":8080"
}()
