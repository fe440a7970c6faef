package pushorder

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// defaultCustoms is the document's default: "不传或者默认为空，则是宁波 HG014".
const defaultCustoms = "HG014"

// pushKeys are the keys of PushOrder's data. The last three are baoguan's
// additions for ports that need extras (Guangzhou, Tianjin), named as in
// payzero; the vendor document has no field for them.
var pushKeys = []string{"OperationType", "OrderNo", "ReceiverName", "ReceiverCardNo", "TotalNum", "OrderTotal",
	"ItemNames", "ShopPayTime", "MerchantName", "CapitalName", "ReceiverMobile", "CustomsCode",
	"CustomsAreaCode", "CustomsJyOrg", "CustomsInType"}

// handlePush serves PushOrder (test=false) and PushTestOrder (test=true).
// The checks run in the order the answers are most useful and least
// revealing: unreadable data (9904), then who is calling (9912) so that a
// stranger learns nothing about the rest, whether the merchant may push at
// all (9911/9912), then the operation (9907), the order number (9916), the
// payer (9901-9903), and last the core (9909 and the state codes).
func (s *Server) handlePush(test bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		orderNo := ""
		fail := func(err error) {
			code, msg := pushResult(err)
			if code == CodeInternal {
				s.log.Error("pushorder internal error", "request_id", r.Header.Get("X-Request-Id"), "route", r.Pattern, // the path holds the access token
					"order_no", orderNo, "err", err)
			}
			writeReply(w, pushReply{ReturnCode: code, ReturnMsg: msg, OrderNo: orderNo}, err)
		}
		data, err := s.readData(w, r)
		if err != nil {
			fail(err)
			return
		}
		f, err := parseFields(data)
		if err == nil {
			err = f.check(pushKeys...)
		}
		if err != nil {
			fail(err)
			return
		}
		orderNo = f.mustText("OrderNo")
		m, err := s.caller(r, f.mustText("MerchantName"))
		if err == nil {
			err = m.Active() // the core checks it again in the transaction
		}
		if err != nil {
			fail(err)
			return
		}
		op := strings.ToUpper(f.mustText("OperationType"))
		if op == "" {
			op = "A"
		}
		if op != "A" && op != "U" {
			fail(&baoguan.Error{Code: baoguan.EINVALID, Field: "OperationType", Reason: reasonBadOp,
				Message: "OperationType must be A or U"})
			return
		}
		in, err := orderInput(f, test)
		if err != nil {
			fail(err)
			return
		}
		msg := msgCreated
		if op == "A" {
			_, _, err = s.svc.CreateOrder(r.Context(), m, in)
		} else {
			_, err = s.svc.UpdateOrder(r.Context(), m, in)
			msg = msgUpdated
		}
		if err != nil {
			fail(err)
			return
		}
		writeReply(w, pushReply{ReturnCode: CodeOK, ReturnMsg: msg, OrderNo: orderNo})
	})
}

// orderInput translates PushOrder's data into a core order: the payer is
// the 报关人 (Receiver*), the amount OrderTotal in fen, the order paid by
// the platform from the merchant's funding account (channel auto: the
// "资方" pays, CapitalName is recorded) — or, with baoguan's PaymentNo and
// PaymentCompany, already paid elsewhere (channel external) — and declared
// to CustomsCode.
func orderInput(f fields, test bool) (core.OrderInput, error) {
	no := f.mustText("OrderNo")
	if err := baoguan.CheckOrderNo("OrderNo", no); err != nil {
		return core.OrderInput{}, err
	}
	payer := baoguan.Payer{
		Name:     f.mustText("ReceiverName"),
		IDType:   baoguan.IDTypeIDCard,
		IDNumber: f.mustText("ReceiverCardNo"),
		Phone:    f.mustText("ReceiverMobile"),
	}
	switch {
	case payer.IDNumber == "":
		return core.OrderInput{}, missing("ReceiverCardNo", reasonMissingID)
	case payer.Name == "":
		return core.OrderInput{}, missing("ReceiverName", reasonMissingName)
	case payer.Phone == "":
		return core.OrderInput{}, missing("ReceiverMobile", reasonMissingTel)
	}
	amountText := f.mustText("OrderTotal")
	if amountText == "" {
		return core.OrderInput{}, badField("OrderTotal", "OrderTotal 不能为空")
	}
	amount, err := baoguan.ParseYuan("OrderTotal", amountText)
	if err != nil {
		return core.OrderInput{}, err
	}
	qty, err := totalNum(f.mustText("TotalNum"))
	if err != nil {
		return core.OrderInput{}, err
	}
	items := f.mustText("ItemNames")
	if items == "" {
		return core.OrderInput{}, badField("ItemNames", "ItemNames 不能为空，至少需要一个商品名称")
	}
	at, err := shopPayTime(f.mustText("ShopPayTime"))
	if err != nil {
		return core.OrderInput{}, err
	}
	code := f.mustText("CustomsCode")
	if code == "" {
		code = defaultCustoms
	}
	if e, err := baoguan.LookupCustoms(code); err == nil && !e.In(baoguan.SchemeHG) {
		return core.OrderInput{}, badField("CustomsCode", "CustomsCode "+code+" 不是本接口的海关编号（HGxxx，见附录“海关编码”）")
	}
	// baoguan's extension: an order already paid through a wallet (or any
	// payment company) names the payment, and is declared through that
	// wallet's customs API instead of being paid by the 资方.
	channel, payment := baoguan.ChannelAuto, baoguan.Payment{}
	if pno := f.mustText("PaymentNo"); pno != "" {
		psp := strings.ToUpper(f.mustText("PaymentCompany"))
		if psp == "" {
			return core.OrderInput{}, badField("PaymentCompany", "给出 PaymentNo 时须同时给出 PaymentCompany（支付机构，如 WECHAT、ALIPAY）")
		}
		channel, payment = baoguan.ChannelExternal, baoguan.Payment{No: pno, PSP: psp}
	}
	return core.OrderInput{
		Order: baoguan.Order{
			MerchantOrderNo: no,
			Amount:          amount,
			Currency:        "CNY",
			Subject:         items,
			Items:           []baoguan.Item{{Subject: items, Quantity: qty}},
			Payer:           payer,
			OrderedAt:       at,
			NeedDeclare:     true,
			Channel:         channel,
			Payment:         payment,
			Protocol:        Protocol,
			CapitalName:     f.mustText("CapitalName"),
		},
		Declarations: []baoguan.DeclarationSpec{{
			Customs: code,
			Extras: baoguan.CustomsExtras{
				AreaCode: f.mustText("CustomsAreaCode"),
				JyOrg:    f.mustText("CustomsJyOrg"),
				InType:   f.mustText("CustomsInType"),
			},
		}},
		Test: test,
	}, nil
}

func missing(field, reason string) error {
	return &baoguan.Error{Code: baoguan.EINVALID, Field: field, Reason: reason, Message: field + " 不能为空"}
}

func badField(field, msg string) error {
	return &baoguan.Error{Code: baoguan.EINVALID, Field: field, Reason: reasonBadField, Message: msg}
}

// totalNum reads TotalNum, a count of goods that the document's sample
// writes as 5.0: a positive whole number, with any zero decimals.
func totalNum(s string) (int64, error) {
	if s == "" {
		return 0, badField("TotalNum", "TotalNum 不能为空")
	}
	whole, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || n <= 0 || strings.Trim(frac, "0") != "" {
		return 0, badField("TotalNum", "TotalNum 应为正整数，收到 "+strconv.Quote(s))
	}
	return n, nil
}

// shopPayTime reads ShopPayTime as China time. Besides the document's
// yyyy-MM-dd HH:mm:ss it accepts what a .NET serializer makes of a DateTime
// property (2018-07-01T21:22:34, with fractions or an offset), since a
// client may have typed the field that way.
func shopPayTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, badField("ShopPayTime", "ShopPayTime 不能为空，格式 yyyy-MM-dd HH:mm:ss")
	}
	for _, layout := range []string{timeLayout, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.ParseInLocation(layout, s, core.ChinaTime); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, badField("ShopPayTime", "ShopPayTime 格式应为 yyyy-MM-dd HH:mm:ss，收到 "+strconv.Quote(s))
}
