package pushorder

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/baoguan/baoguan"
)

// ReturnCode values of PushOrder (appendix "推单返回") and GetOrder.
const (
	CodeOK           = "0000" // 成功
	CodeNoIDNumber   = "9901" // 报关人身份证不能为空
	CodeNoName       = "9902" // 报关人姓名不能为空
	CodeNoMobile     = "9903" // 报关人手机号码不能为空
	CodeBadData      = "9904" // 订单解析报错，请联系管理员
	CodeExists       = "9905" // 该商户订单已存在
	CodeDone         = "9906" // 该订单已支付+报关状态,无需重新支付+报关
	CodeBadOperation = "9907" // 操作类型有误（A/U）
	CodeCreateFailed = "9909" // 创建订单的时候失败，错误原因.....
	CodeInternal     = "9910" // 程序异常,请联系资方操作人
	CodeArrears      = "9911" // 您已欠费，请缴费后再推单
	CodeUnsigned     = "9912" // 您未签约，请签约后再推单
	CodeBadOrderNo   = "9916" // 订单号异常
	CodeQueryFailed  = "9999" // GetOrder: 失败
)

// ReturnMsg texts of the successful replies (the first and last are the
// document's) and of the failures whose text baoguan adds to.
const (
	msgCreated        = "订单创建成功"
	msgUpdated        = "订单更新成功"
	msgQueried        = "获取信息成功！"
	msgNoAccess       = "您未签约，请签约后再推单（该商户未开通本接口，或访问地址中的令牌、来源 IP 与该商户不符）"
	msgInternal       = "程序异常,请联系资方操作人"
	msgCreateFailedAs = "创建订单的时候失败，错误原因："
)

// pushText is the appendix's text for each push code.
var pushText = map[string]string{
	CodeNoIDNumber:   "报关人身份证不能为空",
	CodeNoName:       "报关人姓名不能为空",
	CodeNoMobile:     "报关人手机号码不能为空",
	CodeBadData:      "订单解析报错，请联系管理员",
	CodeExists:       "该商户订单已存在",
	CodeDone:         "该订单已支付+报关状态,无需重新支付+报关",
	CodeBadOperation: "操作类型有误（A/U）",
	CodeInternal:     msgInternal,
	CodeArrears:      "您已欠费，请缴费后再推单",
	CodeUnsigned:     "您未签约，请签约后再推单",
	CodeBadOrderNo:   "订单号异常",
}

// wireField names core request fields as a pushorder client knows them,
// so an error message points at the key the client sent.
var wireField = map[string]string{
	"merchant_order_no": "OrderNo",
	"amount":            "OrderTotal",
	"subject":           "ItemNames",
	"currency":          "OrderTotal",
	"payer.name":        "ReceiverName",
	"payer.id_number":   "ReceiverCardNo",
	"payer.phone":       "ReceiverMobile",
	"customs":           "CustomsCode",
	"customs_area_code": "CustomsAreaCode",
	"customs_jy_org":    "CustomsJyOrg",
	"customs_in_type":   "CustomsInType",
	"order_fee":         "OrderTotal",
	"merchant":          "", // the installation's setup, not a field the client sent
}

// pushResult maps any error of a push to its ReturnCode and ReturnMsg. It is
// the one place where core error codes become pushorder codes.
func pushResult(err error) (code, msg string) {
	reason := baoguan.ErrorReason(err)
	field := baoguan.ErrorField(err)
	switch baoguan.ErrorCode(err) {
	case baoguan.EINTERNAL:
		return CodeInternal, msgInternal
	case baoguan.ETOOLARGE:
		return CodeBadData, pushText[CodeBadData] + "：" + baoguan.ErrorMessage(err)
	case baoguan.EUNAUTHORIZED, baoguan.EFORBIDDEN:
		return CodeUnsigned, msgNoAccess
	case baoguan.ERATELIMIT:
		return CodeUnsigned, tooMany(err)
	case baoguan.EMERCHANT:
		if reason == "arrears" {
			return CodeArrears, pushText[CodeArrears]
		}
		return CodeUnsigned, pushText[CodeUnsigned]
	case baoguan.ENOTFOUND:
		return CodeBadOrderNo, pushText[CodeBadOrderNo] + "：订单不存在，请先以 OperationType A 创建"
	case baoguan.ECONFLICT:
		if reason == "duplicate_order_no" {
			return CodeExists, pushText[CodeExists] + "（内容与首次推送不同；修改订单请用 OperationType U）"
		}
	case baoguan.ESTATE:
		if reason == "paid_and_declared" {
			return CodeDone, pushText[CodeDone]
		}
	case baoguan.EINVALID:
		switch {
		case reason == reasonBadData:
			return CodeBadData, pushText[CodeBadData] + "：" + baoguan.ErrorMessage(err)
		case reason == reasonBadOp:
			return CodeBadOperation, pushText[CodeBadOperation]
		case field == "merchant_order_no" || field == "OrderNo":
			return CodeBadOrderNo, pushText[CodeBadOrderNo] + "：" + baoguan.ErrorMessage(err)
		case reason == reasonMissingID:
			return CodeNoIDNumber, pushText[CodeNoIDNumber]
		case reason == reasonMissingName:
			return CodeNoName, pushText[CodeNoName]
		case reason == reasonMissingTel:
			return CodeNoMobile, pushText[CodeNoMobile]
		}
	}
	return CodeCreateFailed, msgCreateFailedAs + describe(err)
}

// queryResult maps an error of GetOrder to its code and message. The
// document gives the query one failure code, 9999; a caller whose
// MerchantName is not bound to it gets PushOrder's signing code 9912
// instead, so that a misconfigured client can tell "no access" from "no
// such order".
func queryResult(err error) (code, msg string) {
	switch baoguan.ErrorCode(err) {
	case baoguan.EINTERNAL:
		return CodeQueryFailed, msgInternal
	case baoguan.EUNAUTHORIZED, baoguan.EFORBIDDEN:
		return CodeUnsigned, msgNoAccess
	case baoguan.ERATELIMIT:
		return CodeUnsigned, tooMany(err)
	case baoguan.ENOTFOUND:
		return CodeQueryFailed, "获取信息失败：订单不存在"
	}
	return CodeQueryFailed, "获取信息失败：" + describe(err)
}

// describe renders a client error for a person reading the reply: the
// field as the client named it, then the reason.
func describe(err error) string {
	msg := baoguan.ErrorMessage(err)
	f := baoguan.ErrorField(err)
	if w, ok := wireField[f]; ok {
		f = w
	}
	if f == "" || f == "data" || strings.HasPrefix(msg, f) {
		return msg
	}
	return f + "：" + msg
}

// pushReply is the answer of PushOrder: the document's three fields, in its
// order.
type pushReply struct {
	ReturnCode string `json:"ReturnCode"`
	ReturnMsg  string `json:"ReturnMsg"`
	OrderNo    string `json:"OrderNo"`
}

// queryReply is the answer of GetOrder.
type queryReply struct {
	ReturnCode    string `json:"ReturnCode"`
	ReturnMsg     string `json:"ReturnMsg"`
	OrderNo       string `json:"OrderNo"`
	PaymentNo     string `json:"PaymentNo"`
	PaymentStatus int    `json:"PaymentStatus"`
	PaymentMsg    string `json:"PaymentMsg"`
	PayTime       string `json:"PayTime"`
	CustomsMsg    string `json:"CustomsMsg"`
}

// queryFailure is the answer of a GetOrder that found nothing to show:
// the status fields are left out rather than shown as "0 未支付".
type queryFailure struct {
	ReturnCode string `json:"ReturnCode"`
	ReturnMsg  string `json:"ReturnMsg"`
	OrderNo    string `json:"OrderNo"`
}

// tooMany is the ReturnMsg of a caller refused by the failed-access
// limits: the document has no code for it, so it is 9912's, with the wait.
func tooMany(err error) string {
	return fmt.Sprintf("访问失败次数过多，请 %d 秒后重试（该来源或该商户的令牌校验失败次数超过限制）", baoguan.RetryAfter(err))
}

// writeReply writes v as JSON with status 200 whatever the ReturnCode: the
// document's .NET client reads the body with HttpWebRequest, which throws
// on any other status before the ReturnCode can be read. The one exception
// is a caller over the failed-access limits (err is ERATELIMIT): 429 with
// Retry-After, the same body, since a client that is refused for guessing
// is better stopped than answered as usual.
func writeReply(w http.ResponseWriter, v any, err ...error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // messages may quote a client's "&"; keep them readable
	if err := enc.Encode(v); err != nil {
		buf.Reset()
		buf.WriteString(`{"ReturnCode":"` + CodeInternal + `","ReturnMsg":"` + msgInternal + `","OrderNo":""}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	status := http.StatusOK
	if len(err) > 0 && baoguan.RetryAfter(err[0]) > 0 {
		status = http.StatusTooManyRequests
		w.Header().Set("Retry-After", strconv.Itoa(baoguan.RetryAfter(err[0])))
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
