package payzero

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/baoguan/baoguan"
)

// claims are a login token's contents. payzero's own tokens carry sub,
// roles, iat and exp (its §1 example); baoguan adds akh, a fingerprint of
// the merchant's app key, so that issuing a new app key ends the tokens
// obtained with the old one, as the document says it ends the old key.
type claims struct {
	jwt.RegisteredClaims
	Roles []string `json:"roles"`
	AKH   string   `json:"akh"`
}

// appKeyFingerprint is a short digest of the stored app-key hash: enough
// to tell keys apart, too short to be worth anything to a token's reader.
func appKeyFingerprint(m *baoguan.Merchant) string {
	h := sha256.Sum256([]byte("payzero-akh:" + m.AppKeyHash))
	return hex.EncodeToString(h[:8])
}

// jwtKey returns the installation's token key, created on first use (the
// core keeps it sealed, and instances sharing a database agree on one).
func (s *Server) jwtKey(ctx context.Context) ([]byte, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.key != nil {
		return s.key, nil
	}
	key, err := s.svc.InstallationSecret(ctx, settingJWTSecret, 32)
	if err != nil {
		return nil, err
	}
	s.key = key
	return key, nil
}

type loginReq struct {
	Username jstr `json:"username"`
	Password jstr `json:"password"`
}

type loginResp struct {
	Username string `json:"username"`
	Token    string `json:"token"`
}

// handleLogin is §1: the app id and app key (username / password) give a
// token valid TokenTTL. Tokens are independent: a new one leaves older
// ones valid until they expire.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req loginReq
	if err := s.decode(w, r, &req, s.maxBody); err != nil {
		s.fail(w, r, err)
		return
	}
	user, pass := string(req.Username), string(req.Password)
	// Failures count against the source address and the app id named
	// (core.Service.AuthAllowed); over the limit the key is not checked.
	subject := authSubject(user)
	if err := s.svc.AuthAllowed(r.Context(), r.RemoteAddr, subject); err != nil {
		s.fail(w, r, err)
		return
	}
	badLogin := &baoguan.Error{Code: baoguan.EUNAUTHORIZED, Message: "用户名或密码错误：请使用商户后台获取的 APP Id 与 APP Key"}
	if user == "" || pass == "" {
		s.fail(w, r, s.svc.AuthFailed(r.Context(), r.RemoteAddr, subject, badLogin))
		return
	}
	m, err := s.svc.MerchantByAppKey(r.Context(), user, pass)
	if err != nil {
		if baoguan.ErrorCode(err) == baoguan.EUNAUTHORIZED {
			err = s.svc.AuthFailed(r.Context(), r.RemoteAddr, subject, badLogin)
		}
		s.fail(w, r, err)
		return
	}
	key, err := s.jwtKey(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := s.svc.Now()
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   m.AppID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(TokenTTL)),
			// A random id keeps two logins in one second from producing
			// the same token: tokens are independent.
			ID: hex.EncodeToString(randomBytes(8)),
		},
		Roles: []string{"ROLE_USER"},
		AKH:   appKeyFingerprint(m),
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, loginResp{Username: m.AppID, Token: tok})
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return b
}

// authed checks the bearer token of every interface but login. As the
// document's status table says: no Authorization header is 403 (read the
// overview again), a token that is not right (malformed, forged, expired,
// or from before a new app key) is 401.
func (s *Server) authed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := strings.TrimSpace(r.Header.Get("Authorization"))
		if hdr == "" {
			writeEnvelope(w, http.StatusForbidden, failure(codeNoAuth,
				"权限不足：请在 HTTP 头部加入 Authorization: Bearer <token>，token 由 /auth/login 获取"))
			return
		}
		// A token names its merchant only once verified: failures count
		// against the source address.
		if err := s.svc.AuthAllowed(r.Context(), r.RemoteAddr, ""); err != nil {
			s.fail(w, r, err)
			return
		}
		m, err := s.authenticate(r.Context(), hdr)
		if baoguan.ErrorCode(err) == baoguan.EUNAUTHORIZED {
			err = s.svc.AuthFailed(r.Context(), r.RemoteAddr, "", err)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), keyMerchant, m)))
	})
}

func (s *Server) authenticate(ctx context.Context, hdr string) (*baoguan.Merchant, error) {
	bad := &baoguan.Error{Code: baoguan.EUNAUTHORIZED, Message: "token 不正确或已过期，请重新调用 /auth/login 获取"}
	scheme, tok, ok := strings.Cut(hdr, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return nil, bad
	}
	key, err := s.jwtKey(ctx)
	if err != nil {
		return nil, err
	}
	var c claims
	p := jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(), jwt.WithTimeFunc(s.svc.Now))
	if _, err := p.ParseWithClaims(strings.TrimSpace(tok), &c, func(*jwt.Token) (any, error) { return key, nil }); err != nil {
		return nil, bad
	}
	m, err := s.svc.MerchantByAppID(ctx, c.Subject)
	if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(c.AKH), []byte(appKeyFingerprint(m))) != 1 {
		return nil, bad
	}
	return m, nil
}

func merchantOf(r *http.Request) *baoguan.Merchant {
	m, _ := r.Context().Value(keyMerchant).(*baoguan.Merchant)
	return m
}

// authSubject is the subject a login's failures count against: the app
// id it names, which is one merchant's.
func authSubject(appID string) string { return "payzero-app:" + appID }
