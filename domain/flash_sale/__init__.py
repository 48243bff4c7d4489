"""Flash sales (秒杀): a sale's own pool of units, sold at the sale price in a window, a few per customer.

`models` (the sale and its items), `sales` (staff set-up, the pool's truth in the database, settling a sale that
ended), `pool` and `redis_pool` (the fast gate every buy passes), `buy` (`flashSaleBuy`), `policy` (what a
FLASH_SALE order means when it is paid, cancelled or paid late).
"""
