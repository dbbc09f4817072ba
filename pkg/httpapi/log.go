package httpapi

import (
	"io"
	"log/slog"
	"strings"
)

// secretKeys are attribute names whose values never reach a log line.
var secretKeys = map[string]bool{
	"code": true, "secret": true, "token": true, "mfatoken": true, "authorization": true,
	"x-mfa-token": true, "devicetoken": true, "otpauthuri": true, "password": true, "credential": true,
	"access_token": true, "qrpng": true, "body": true,
}

// NewLogger returns a JSON logger that redacts any attribute named like a secret, however
// deep in a group, so a careless log call cannot leak a code or token.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if secretKeys[strings.ToLower(a.Key)] {
				return slog.String(a.Key, "[redacted]")
			}
			return a
		},
	}))
}

// ParseLevel reads LOG_LEVEL (DEBUG, INFO, WARN, ERROR); anything else is INFO.
func ParseLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}
