"""The pavilion's own pages for the mini-program (#30): banners and announcements for the home page,
articles (政策宣传, 品牌故事, 培训动态) with sanitised HTML bodies; cached like the catalogue."""
from sanic import Blueprint, HTTPResponse, Request

from server.content import service as content
from server.content.schemas import ArticleQuery, PublicArticle, PublicArticlePage, PublicHome
from server.kit.http import endpoint

bp = Blueprint("mp_content", url_prefix="/api/v1/content")
TAGS = ("content",)


@bp.get("/home")
@endpoint(summary="Live banners and the latest announcements", response=PublicHome, tags=TAGS)
async def home(request: Request):
    return HTTPResponse(await content.home(), content_type="application/json")


@bp.get("/articles")
@endpoint(summary="Live articles, newest first (by category)", query=ArticleQuery, response=PublicArticlePage,
          tags=TAGS, errors=(422,))
async def articles(request: Request, query: ArticleQuery):
    return HTTPResponse(await content.articles(query), content_type="application/json")


@bp.get("/articles/<item_id:int>")
@endpoint(summary="A live article or announcement with its sanitised HTML body", response=PublicArticle,
          tags=TAGS, errors=(404,))
async def article(request: Request, item_id: int):
    return await content.article(item_id)
