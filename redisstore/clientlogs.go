package redisstore

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/redis/go-redis/v9"
)

// RouteClientLogs sends what the go-redis client logs to l at level,
// instead of to the standard error in its own format. go-redis's logger is
// process-wide, so this changes it for every go-redis client of the
// process: programs call it once at start, libraries should not. Without
// it, an outage writes a line per failed dial ("connection pool: failed to
// dial"), which the Store already reports through its own logger
// ([WithLogger]), once per outage and without per-request repetition; a
// level below the handler's (slog.LevelDebug, say) keeps them out of the
// logs. A nil l is ignored.
func RouteClientLogs(l *slog.Logger, level slog.Level) {
	if l == nil {
		return
	}
	redis.SetLogger(clientLogger{l: l, level: level})
}

// clientLogger adapts a *slog.Logger to go-redis's logging interface.
type clientLogger struct {
	l     *slog.Logger
	level slog.Level
}

// Printf logs one go-redis message.
func (c clientLogger) Printf(ctx context.Context, format string, v ...any) {
	if ctx == nil {
		ctx = context.Background()
	}
	if !c.l.Enabled(ctx, c.level) {
		return
	}
	c.l.Log(ctx, c.level, "redisstore: go-redis: "+strings.TrimSpace(fmt.Sprintf(format, v...)))
}
