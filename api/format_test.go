package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/webhook"
)

// TestDeliverSignsWithEachSecret: notifications of many merchants, each
// signed with its merchant's secret (and the secret it replaces, while
// reissued), as the receiver verifies them — the same merchant again, the
// others in between, more merchants than the format keeps signers for.
func TestDeliverSignsWithEachSecret(t *testing.T) {
	const n = maxSigners + 40
	secrets, previous := make([]string, n), make([]string, n)
	for i := range secrets {
		secrets[i], previous[i] = webhook.NewSecret(), webhook.NewSecret()
	}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		i, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hook/"))
		now := time.Now()
		for _, s := range []string{secrets[i], previous[i]} {
			if err := webhook.Verify(s, r.Header, body, now, webhook.DefaultTolerance); err != nil {
				t.Errorf("merchant %d: %v", i, err)
			}
		}
		if err := webhook.Verify(secrets[(i+1)%n], r.Header, body, now, webhook.DefaultTolerance); err == nil {
			t.Errorf("merchant %d's notification verifies with merchant %d's secret", i, (i+1)%n)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	f := NewFormat()
	for round := range 2 {
		for i := range n {
			m := &baoguan.Merchant{WebhookSecret: secrets[i]}
			if i%2 == 0 {
				m.PreviousWebhookSecrets = []string{previous[i]}
			} else {
				m.WebhookSecret, m.PreviousWebhookSecrets = previous[i], []string{secrets[i]}
			}
			e := &baoguan.Event{PublicID: "evt_" + strconv.Itoa(round) + "_" + strconv.Itoa(i), URL: recv.URL + "/hook/" + strconv.Itoa(i),
				Body: []byte(`{"n":` + strconv.Itoa(i) + `}`)}
			if d := f.Deliver(context.Background(), recv.Client(), m, e); !d.Acked {
				t.Fatalf("round %d, merchant %d: not acknowledged: %+v", round, i, d)
			}
		}
	}
}
