package console_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestLoginLimited: ten wrong passwords for one login make the login page
// answer 429 with Retry-After, without checking the password (the right
// one is refused too), and the form is shown again to try later; another
// login is not affected.
func TestLoginLimited(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for i := range 10 {
		if p := b.login("clerk", "wrong password "+strconv.Itoa(i)); p.status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d", i+1, p.status)
		}
	}
	p := b.login("clerk", clerkPW)
	if p.status != http.StatusTooManyRequests {
		t.Fatalf("the right password after 10 failures: %d, want 429", p.status)
	}
	if s, err := strconv.Atoi(p.header.Get("Retry-After")); err != nil || s < 1 || s > 6 {
		t.Errorf("Retry-After %q, want 1 to 6 seconds", p.header.Get("Retry-After"))
	}
	if !csrfField.MatchString(p.body) {
		t.Error("the refused login page has no form to try again with")
	}
	if p := e.browser().login("rival", clerkPW); p.status != http.StatusSeeOther {
		t.Errorf("another login: %d, want 303", p.status)
	}
	e.clock.Add(6 * time.Second) // one try back for the login
	if p := e.browser().login("clerk", clerkPW); p.status != http.StatusSeeOther {
		t.Errorf("after the refill: %d, want 303", p.status)
	}
}
