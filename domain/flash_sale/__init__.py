"""Flash sales (秒杀): a sale's own pool of units, sold at the sale price in a window, a few per customer.

`models` (the sale and its items), `sales` (staff set-up, the pool's truth in the database, settling a sale that
ended), `pool` and `redis_pool` (the fast gate every buy passes), `sold_out` (a process's sold-out marks, so a
sold-out SKU costs no round trip), `item_cache` (the items buys are checked against), `buy` (`flashSaleBuy`,
answered at the admit), `admit` (the buys of a moment admitted together: the unpaid-order cap, then the pool),
`group_commit` and `batch_write` (the admitted buys' orders, written together), `policy`
(what a FLASH_SALE order means when it is paid, cancelled or paid late).
"""
