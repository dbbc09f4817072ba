package localapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
)

const eventsPath = localPrefix + "events"

// Event is one security event the local stack published to EventBridge, as a rule delivered
// it (GET /local/events).
type Event struct {
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Time       string          `json:"time"`
	Detail     json.RawMessage `json:"detail"`
}

// serveEvents lists the published events in the order they arrived; ?userId= keeps one user's.
func (g *Gateway) serveEvents(w http.ResponseWriter, r *http.Request) {
	list := []Event{}
	if g.events != nil {
		got, err := g.events(r.Context())
		if err != nil {
			g.log.LogAttrs(r.Context(), slog.LevelError, "read events", slog.String("error", err.Error()))
			writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		user := r.URL.Query().Get("userId")
		for _, ev := range got {
			var d struct {
				UserID string `json:"userId"`
			}
			if user != "" && (json.Unmarshal(ev.Detail, &d) != nil || d.UserID != user) {
				continue
			}
			list = append(list, ev)
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Events []Event `json:"events"`
	}{list})
}
