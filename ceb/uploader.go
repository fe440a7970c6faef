package ceb

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
)

// DefaultUploadField is the form field of a 179 upload.
const DefaultUploadField = "payExInfoStr"

// UploadPath is the path of customs' 179 upload endpoint
// (…/ceb2grab/grab/realTimeDataUpload); customs gives each platform the
// host of its test and production environments.
const UploadPath = "/ceb2grab/grab/realTimeDataUpload"

// Uploader posts 179 data to customs.
type Uploader struct {
	URL    string       // customs' realTimeDataUpload URL
	Field  string       // the form field; DefaultUploadField when empty
	Client *http.Client // a client with a 30 s timeout when nil
}

// UploadAnswer is customs' reply: {"code":"10000","message":"上传成功",
// "total":0,"serviceTime":1689167204577}.
type UploadAnswer struct {
	Code        string
	Message     string
	ServiceTime int64
	HTTPStatus  int
}

// maxUploadAnswer bounds customs' reply.
const maxUploadAnswer = 64 << 10

// Upload posts payExInfoStr (PayExInfo.Body) as
// application/x-www-form-urlencoded. Customs' code 10000 is success. A
// transport failure, HTTP 408, 429 or 5xx, or a 2xx that is not customs'
// JSON (a gateway's page) is a plain error, to be retried (customs wants
// the data within minutes of its request, so the schedule should be
// short). Any other HTTP status, or a reply with another code (customs
// refused the data: a signature that does not verify, an unknown session),
// is baoguan.Permanent: sending the same signed data again cannot succeed.
// The answer is returned whenever one was read.
func (u *Uploader) Upload(ctx context.Context, body []byte) (a UploadAnswer, err error) {
	start := time.Now()
	defer func() { reportCall(ctx, callService179, "upload", start, a.HTTPStatus, a.Code, err) }()
	return u.upload(ctx, body)
}

// upload is Upload without the record.
func (u *Uploader) upload(ctx context.Context, body []byte) (UploadAnswer, error) {
	field := u.Field
	if field == "" {
		field = DefaultUploadField
	}
	form := url.Values{field: {string(body)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.URL, strings.NewReader(form))
	if err != nil {
		return UploadAnswer{}, baoguan.Permanent(fieldErr("upload_url", "bad 179 upload URL: %v", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	client := u.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return UploadAnswer{}, fmt.Errorf("ceb 179 upload: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxUploadAnswer))
	a := UploadAnswer{HTTPStatus: resp.StatusCode}
	if err != nil {
		return a, fmt.Errorf("ceb 179 upload: reading the answer: %w", err)
	}
	if err := httpStatusErr("customs", resp.StatusCode, raw); err != nil {
		return a, err
	}
	var reply struct {
		Code        json.RawMessage `json:"code"`
		Message     string          `json:"message"`
		ServiceTime json.Number     `json:"serviceTime"`
	}
	if err := json.Unmarshal(raw, &reply); err != nil || len(reply.Code) == 0 {
		return a, fmt.Errorf("ceb 179 upload: customs answered something else than its JSON: %s", clip(string(raw)))
	}
	a.Code = strings.Trim(string(reply.Code), `"`)
	a.Message = reply.Message
	a.ServiceTime, _ = reply.ServiceTime.Int64()
	if a.Code != OpenAccepted {
		return a, baoguan.Permanent(fmt.Errorf("ceb 179 upload: customs refused the data: code %s: %s", clip(a.Code), clip(a.Message)))
	}
	return a, nil
}
