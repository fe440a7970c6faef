package pushorder

import (
	"net/http"
)

// handleGet serves GetOrder and GetTestOrder (data={"OrderNo","MerchantName"}).
// Both read the merchant's orders whichever endpoint created them. A
// failure is 9999, the only failure code the document gives the query,
// except a refused caller, who gets 9912 as PushOrder answers it.
func (s *Server) handleGet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		orderNo := ""
		fail := func(err error) {
			code, msg := queryResult(err)
			if msg == msgInternal {
				s.log.Error("pushorder internal error", "request_id", r.Header.Get("X-Request-Id"), "route", r.Pattern, // the path holds the access token
					"order_no", orderNo, "err", err)
			}
			writeReply(w, queryFailure{ReturnCode: code, ReturnMsg: msg, OrderNo: orderNo}, err)
		}
		data, err := s.readData(w, r)
		if err != nil {
			fail(err)
			return
		}
		f, err := parseFields(data)
		if err == nil {
			err = f.check("OrderNo", "MerchantName")
		}
		if err != nil {
			fail(err)
			return
		}
		orderNo = f.mustText("OrderNo")
		m, err := s.caller(r, f.mustText("MerchantName"))
		if err != nil {
			fail(err)
			return
		}
		if orderNo == "" {
			fail(missing("OrderNo", "missing"))
			return
		}
		v, err := s.svc.OrderDetail(r.Context(), m, orderNo)
		if err != nil {
			fail(err)
			return
		}
		o := v.Order
		st, msg := paymentState(o)
		writeReply(w, queryReply{
			ReturnCode:    CodeOK,
			ReturnMsg:     msgQueried,
			OrderNo:       o.MerchantOrderNo,
			PaymentNo:     o.Payment.No,
			PaymentStatus: st,
			PaymentMsg:    msg,
			PayTime:       payTime(o),
			CustomsMsg:    customsMsg(o, v.Declarations),
		})
	})
}
