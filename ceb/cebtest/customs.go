package cebtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/baoguan/baoguan/ceb"
)

// Customs is a stand-in for customs' 179 service: it asks a platform for a
// payment's data (platDataOpen) and receives uploads on ceb.UploadPath,
// checking them as customs does: a session it opened, the platform's
// answer, and a signature that verifies over the sign string rebuilt from
// the uploaded JSON's own bytes.
type Customs struct {
	Server *httptest.Server
	// Verify checks a signature over the sign string (the stand-in
	// signer's Verify179).
	Verify func(data, certNo, signValue string) error
	Now    func() time.Time

	mu       sync.Mutex
	sessions map[string]string // sessionID → orderNo
	uploads  []Upload
	seq      int
}

// Upload is one upload customs received, and what it answered.
type Upload struct {
	Body      string // payExInfoStr
	Data      ceb.PayExInfo
	SignValid bool
	Code      string // the answer's code
	Message   string
}

// NewCustoms starts the stand-in on 127.0.0.1.
func NewCustoms(verify func(data, certNo, signValue string) error) *Customs {
	c := &Customs{Verify: verify, Now: time.Now, sessions: map[string]string{}}
	c.Server = httptest.NewServer(http.HandlerFunc(c.serve))
	return c
}

// Close stops the stand-in.
func (c *Customs) Close() { c.Server.Close() }

// UploadURL is the upload endpoint.
func (c *Customs) UploadURL() string { return c.Server.URL + ceb.UploadPath }

// Uploads returns what was uploaded so far.
func (c *Customs) Uploads() []Upload {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Upload(nil), c.uploads...)
}

// Ask calls the platform's platDataOpen for an order, as customs does:
// a form POST with openReq, and returns the session it opened and the
// platform's reply code.
func (c *Customs) Ask(platDataOpenURL, orderNo string) (sessionID, code string, err error) {
	c.mu.Lock()
	c.seq++
	sessionID = fmt.Sprintf("032C3F56-0EE6-4558-B548-%012d", c.seq)
	c.sessions[sessionID] = orderNo
	c.mu.Unlock()
	req, _ := json.Marshal(map[string]string{"orderNo": orderNo, "sessionID": sessionID,
		"serviceTime": strconv.FormatInt(c.Now().UnixMilli(), 10)})
	resp, err := http.PostForm(platDataOpenURL, url.Values{ceb.OpenReqField: {string(req)}})
	if err != nil {
		return sessionID, "", err
	}
	defer resp.Body.Close()
	var a struct {
		Code        string `json:"code"`
		ServiceTime int64  `json:"serviceTime"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return sessionID, "", fmt.Errorf("platDataOpen answered no JSON: %w", err)
	}
	if a.ServiceTime == 0 {
		return sessionID, a.Code, errors.New("platDataOpen answered without serviceTime")
	}
	return sessionID, a.Code, nil
}

func (c *Customs) serve(w http.ResponseWriter, r *http.Request) {
	answer := func(code, msg string) {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "total": 0, "serviceTime": c.Now().UnixMilli()})
	}
	if r.Method != http.MethodPost || r.URL.Path != ceb.UploadPath {
		http.NotFound(w, r)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		http.Error(w, "form expected", http.StatusUnsupportedMediaType)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	up := Upload{Body: r.PostForm.Get(ceb.DefaultUploadField)}
	record := func(code, msg string) {
		up.Code, up.Message = code, msg
		c.mu.Lock()
		c.uploads = append(c.uploads, up)
		c.mu.Unlock()
		answer(code, msg)
	}
	if up.Body == "" {
		record("20000", "payExInfoStr 不能为空")
		return
	}
	data, err := ceb.ParsePayExInfo([]byte(up.Body))
	if err != nil {
		record("20000", "数据格式错误")
		return
	}
	up.Data = data
	c.mu.Lock()
	orderNo, open := c.sessions[data.SessionID]
	c.mu.Unlock()
	if !open {
		record("20000", "sessionID 不存在")
		return
	}
	if len(data.Lists) == 0 || data.Lists[0].OrderNo != orderNo {
		record("20000", "订单编号与请求不符")
		return
	}
	// The sign string from the bytes that came, not from a re-encoding.
	var raw struct {
		Head  json.RawMessage `json:"payExchangeInfoHead"`
		Lists json.RawMessage `json:"payExchangeInfoLists"`
	}
	json.Unmarshal([]byte(up.Body), &raw)
	signed := `"sessionID":"` + data.SessionID + `"||"payExchangeInfoHead":"` + string(raw.Head) +
		`"||"payExchangeInfoLists":"` + string(raw.Lists) + `"||"serviceTime":"` + strconv.FormatInt(data.ServiceTime, 10) + `"`
	if err := c.Verify(signed, data.CertNo, data.SignValue); err != nil {
		record("20000", "验签失败")
		return
	}
	up.SignValid = true
	record(ceb.OpenAccepted, "上传成功")
}
