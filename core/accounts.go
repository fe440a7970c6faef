package core

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/baoguan/baoguan"
)

// Console accounts: users with argon2id password hashes, sessions found by
// the hash of a random cookie token, and a login rate limit kept in the
// database so that it holds across instances.

// Argon2id parameters: OWASP's minimum recommendation (19 MiB, 2 passes,
// 1 lane), which costs a few tens of milliseconds per login here; the
// parameters are stored in every hash, so raising them later keeps old
// hashes verifiable.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// MinPasswordLen is the shortest password accepted, in characters.
const MinPasswordLen = 10

// SessionTTL is how long a console session lasts after login, whatever
// the activity: a working day, so a forgotten browser does not stay in.
const SessionTTL = 12 * time.Hour

// HashPassword returns the PHC-style argon2id hash of a password.
func HashPassword(pw string) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// CheckPassword reports whether pw matches a hash made by HashPassword,
// with the parameters stored in the hash.
func CheckPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<20 || t > 20 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

func checkNewPassword(pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLen {
		return &baoguan.Error{Code: baoguan.EINVALID, Field: "password", Reason: "weak_password",
			Message: fmt.Sprintf("password must have at least %d characters", MinPasswordLen)}
	}
	return nil
}

// UserInput is what an operator gives to create a console account.
type UserInput struct {
	Login      string
	Name       string
	Role       baoguan.Role
	MerchantNo string // for merchant users
	Password   string
}

// CreateUser creates a console account. Errors: EINVALID (login, role,
// merchant, password), ENOTFOUND (merchant), ECONFLICT (login taken).
func (s *Service) CreateUser(ctx context.Context, in UserInput) (*baoguan.User, error) {
	if err := checkNewPassword(in.Password); err != nil {
		return nil, err
	}
	u := &baoguan.User{Login: in.Login, Name: strings.TrimSpace(in.Name), Role: in.Role, PasswordHash: HashPassword(in.Password)}
	err := s.update(ctx, func(tx baoguan.Tx, _ *queue) error {
		if in.MerchantNo != "" {
			m, err := tx.MerchantByNo(in.MerchantNo)
			if err != nil {
				return &baoguan.Error{Code: baoguan.ENOTFOUND, Field: "merchant", Message: "no merchant " + in.MerchantNo}
			}
			u.MerchantID = m.ID
		}
		if err := u.Validate(); err != nil {
			return err
		}
		if u.Name == "" {
			u.Name = u.Login
		}
		return tx.CreateUser(u)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// SetPassword replaces a user's password and ends every session of theirs.
// Errors: EINVALID (password), ENOTFOUND.
func (s *Service) SetPassword(ctx context.Context, login, pw string) error {
	if err := checkNewPassword(pw); err != nil {
		return err
	}
	hash := HashPassword(pw)
	return s.update(ctx, func(tx baoguan.Tx, _ *queue) error {
		u, err := tx.UserByLogin(strings.ToLower(strings.TrimSpace(login)))
		if err != nil {
			return err
		}
		u.PasswordHash = hash
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		return tx.DeleteSessions(u.ID)
	})
}

// Users lists every console account (operators).
func (s *Service) Users(ctx context.Context) ([]baoguan.User, error) {
	var out []baoguan.User
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		out, err = tx.Users()
		return err
	})
	return out, err
}

// Viewer is a signed-in console user: the account, its session and, for a
// merchant user, the merchant it may see.
type Viewer struct {
	User     *baoguan.User
	Session  *baoguan.Session
	Merchant *baoguan.Merchant // nil for operators
}

// Operator reports whether the viewer sees every merchant.
func (v *Viewer) Operator() bool { return v.User.Role == baoguan.RoleOperator }

// errLogin is the one answer to a wrong login or password, so that the
// answer does not tell which was wrong.
var errLogin = &baoguan.Error{Code: baoguan.EUNAUTHORIZED, Reason: "bad_login", Message: "wrong login or password"}

// ErrTooManyLogins is the reason of the error Login returns when the
// failed-authentication limits refuse a try (see AuthAllowed).
const ErrTooManyLogins = ReasonTooManyFailures

// Login checks a console login and opens a session; it returns the cookie
// token (shown to the browser only) and the viewer. source identifies the
// client (its address) for the failed-authentication limits, which count
// the source (Limits.AuthSource) and the login name (Limits.AuthLogin).
// Errors: EUNAUTHORIZED (reason bad_login: wrong login or password, or a
// disabled account); ERATELIMIT reason too_many_failures, with RetryAfter,
// when the source or the login failed too often (the password is then not
// checked).
func (s *Service) Login(ctx context.Context, login, pw, source string) (string, *Viewer, error) {
	login = strings.ToLower(strings.TrimSpace(login))
	subject := AuthLogin(login)
	if err := s.AuthAllowed(ctx, source, subject); err != nil {
		return "", nil, err
	}
	var u *baoguan.User
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		u, err = tx.UserByLogin(login)
		return err
	})
	if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
		_ = HashPassword(pw) // an unknown login takes as long as a wrong password
		return "", nil, s.AuthFailed(ctx, source, subject, errLogin)
	}
	if err != nil {
		return "", nil, err
	}
	if !CheckPassword(u.PasswordHash, pw) || u.Disabled {
		return "", nil, s.AuthFailed(ctx, source, subject, errLogin)
	}
	token := randomToken("", 32)
	sess := &baoguan.Session{TokenHash: HashSecret(token), UserID: u.ID, CSRF: randomToken("", 32)}
	err = s.update(ctx, func(tx baoguan.Tx, _ *queue) error {
		sess.CreatedAt = tx.Now()
		sess.ExpiresAt = tx.Now().Add(SessionTTL)
		// Expired sessions are swept at login, so the table stays as small
		// as the number of people signed in.
		if err := tx.DeleteSessions(0); err != nil {
			return err
		}
		return tx.CreateSession(sess)
	})
	if err != nil {
		return "", nil, err
	}
	v, err := s.viewer(ctx, u, sess)
	return token, v, err
}

// Authenticate returns the viewer of a session cookie token. EUNAUTHORIZED
// when the token is unknown or expired, or the account is disabled.
func (s *Service) Authenticate(ctx context.Context, token string) (*Viewer, error) {
	if token == "" {
		return nil, &baoguan.Error{Code: baoguan.EUNAUTHORIZED, Message: "not signed in"}
	}
	var u *baoguan.User
	var sess *baoguan.Session
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		if sess, err = tx.Session(HashSecret(token)); err != nil {
			return err
		}
		u, err = tx.User(sess.UserID)
		return err
	})
	if baoguan.ErrorCode(err) == baoguan.ENOTFOUND || err == nil && u.Disabled {
		return nil, &baoguan.Error{Code: baoguan.EUNAUTHORIZED, Message: "session expired; sign in again"}
	}
	if err != nil {
		return nil, err
	}
	return s.viewer(ctx, u, sess)
}

func (s *Service) viewer(ctx context.Context, u *baoguan.User, sess *baoguan.Session) (*Viewer, error) {
	v := &Viewer{User: u, Session: sess}
	if u.Role == baoguan.RoleMerchant {
		err := s.view(ctx, func(tx baoguan.Tx) error {
			var err error
			v.Merchant, err = tx.Merchant(u.MerchantID)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Logout ends the session of a cookie token; an unknown token is fine.
func (s *Service) Logout(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return s.update(ctx, func(tx baoguan.Tx, _ *queue) error { return tx.DeleteSession(HashSecret(token)) })
}
