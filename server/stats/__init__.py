"""County statistics (县域电商统计) and the big screen (数据大屏).

rollup.py     one Asia/Shanghai day of every figure -> stats_daily (upsert by day+dimension+key);
              definitions of each figure are in its docstring
service.py    any date range: sums of the rollups, the same period a year before, the plan's targets
              (+20%/yr rural online sales, +30%/yr farm products), station coverage, training progress,
              income reaching poor households; the screen's live figures (cached a few seconds)
exports.py    CSV and xlsx of each table
screen.py     screen access: an admin's JWT or a read-only screen token (hash stored, revocable)
demo_history.py  a realistic year of orders, refunds, ledger postings, live sessions and training
              by bulk inserts, then the rollups of every day
static/       the 1920x1080 page (plain HTML, CSS and SVG: nothing from a CDN)
Jobs: jobs/stats.py (stats.rollup_day, a cron for yesterday+today, a nightly 35-day sweeper)."""
