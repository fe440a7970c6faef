-- 0021_orders_payment_no: the index that finds an order by its payment
-- number holds only orders that have one. An order has none until it is
-- paid, and a batch upload's orders none until their batch is: every
-- order's insert wrote an entry for the empty number (and a batch upload
-- 10,000 of them) that no lookup reads — OrderByPaymentNo refuses an empty
-- number and says payment_no <> '', so that its plan can use this index.
DROP INDEX orders_payment_no;
CREATE INDEX orders_payment_no ON orders (merchant_id, payment_no) WHERE payment_no <> '';
