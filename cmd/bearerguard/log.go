package main

import (
	"io"
	"log/slog"
)

// discardLogger keeps library logs out of the command's report.
func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
