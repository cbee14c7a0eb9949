package validator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
)

func (v *Validator) logReject(ctx context.Context, token string, err error) {
	if !v.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	v.logger.LogAttrs(ctx, slog.LevelDebug, "bearerguard: token rejected",
		slog.String("token_sha256", TokenFingerprint(token)),
		slog.String("reason", ChallengeFor(err, "").Description))
}

// TokenFingerprint returns a short, non-reversible identifier of a token
// for logs: the first 12 hex digits of its SHA-256.
func TokenFingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:6])
}
