package handler_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// damageConsumerPair flips a byte of the position in both slots of the
// consumer pair at index (two 512-byte slots a pair, see consumerstore's
// doc.go), so that neither passes its checksum.
func damageConsumerPair(t *testing.T, dir string, index int64) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "slots"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for slot := int64(0); slot < 2; slot++ {
		off := index*1024 + slot*512 + 40 // inside the position's hash
		b := make([]byte, 1)
		if _, err := f.ReadAt(b, off); err != nil {
			t.Fatal(err)
		}
		b[0] ^= 0xff
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDamagedConsumer: a consumer whose slots both fail their checks is
// answered, on every route that reads or moves it, with a 500 naming it
// and the admin command that removes it (never the generic "store is
// damaged", never a path); other consumers keep working; POST
// /events/verify names it with its fix; and once removed, verify is ok.
func TestDamagedConsumer(t *testing.T) {
	fx := newFuzzFixture(t)
	at := []byte(`{"after":"` + fx.head + `"}`)
	for _, name := range []string{"w", "other"} { // w takes pair 0
		if res := fx.do(t, "PUT", "/consumers/"+name, at, nil); res.Code != http.StatusCreated {
			t.Fatalf("create %s: %d %s", name, res.Code, res.Body)
		}
	}
	if res := fx.do(t, "POST", "/events/verify", nil, nil); res.Code != http.StatusOK ||
		!strings.Contains(res.Body.String(), `"consumers":2`) {
		t.Fatalf("verify before the damage: %d %s, want ok with 2 consumers", res.Code, res.Body)
	}
	damageConsumerPair(t, fx.cdir, 0)

	const want = `consumer w is damaged (its stored position cannot be read); the admin command \"consumer rm w\" removes it`
	for _, req := range []struct{ method, target, body string }{
		{"GET", "/consumers/w", ""},
		{"PUT", "/consumers/w", `{"after":null,"force":true}`},
		{"GET", "/events?consumer=w", ""},
		{"GET", "/consumers", ""},
	} {
		var body []byte
		if req.body != "" {
			body = []byte(req.body)
		}
		res := fx.do(t, req.method, req.target, body, nil)
		if res.Code != http.StatusInternalServerError || !strings.Contains(res.Body.String(), want) {
			t.Errorf("%s %s: got %d %s, want 500 naming w and consumer rm w", req.method, req.target, res.Code, res.Body)
		}
		if strings.Contains(res.Body.String(), fx.cdir) || strings.Contains(res.Body.String(), "/slots") {
			t.Errorf("%s %s: the answer leaks a path: %s", req.method, req.target, res.Body)
		}
	}
	if res := fx.do(t, "GET", "/consumers/other", nil, nil); res.Code != http.StatusOK {
		t.Errorf("GET another consumer: %d %s, want 200", res.Code, res.Body)
	}

	res := fx.do(t, "POST", "/events/verify", nil, nil)
	var v struct {
		Status           string `json:"status"`
		ErrorMessage     string `json:"errorMessage"`
		Events           int    `json:"events"`
		Consumers        int    `json:"consumers"`
		DamagedConsumers []struct {
			Name, Reason, Fix string
		} `json:"damagedConsumers"`
	}
	if err := json.Unmarshal(res.Body.Bytes(), &v); err != nil {
		t.Fatalf("verify: %v in %s", err, res.Body)
	}
	if res.Code != http.StatusInternalServerError || v.Status != "error" || v.Events != 1 || v.Consumers != 2 ||
		len(v.DamagedConsumers) != 1 || v.DamagedConsumers[0].Name != "w" || v.DamagedConsumers[0].Fix != "consumer rm w" ||
		!strings.Contains(v.ErrorMessage, "the event log is intact, but 1 consumer(s) are damaged: w") {
		t.Fatalf("verify after the damage: %d %s, want 500 naming w with its fix", res.Code, res.Body)
	}
	if strings.Contains(res.Body.String(), fx.cdir) || strings.Contains(res.Body.String(), "/slots") {
		t.Errorf("verify leaks a path: %s", res.Body)
	}

	if res := fx.do(t, "DELETE", "/consumers/w", nil, nil); res.Code != http.StatusOK {
		t.Fatalf("DELETE the damaged consumer: %d %s", res.Code, res.Body)
	}
	if res := fx.do(t, "POST", "/events/verify", nil, nil); res.Code != http.StatusOK ||
		!strings.Contains(res.Body.String(), `"consumers":1`) || strings.Contains(res.Body.String(), "damagedConsumers") {
		t.Fatalf("verify after rm: %d %s, want ok with 1 consumer", res.Code, res.Body)
	}
}
