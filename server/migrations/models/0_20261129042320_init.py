from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "categories" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(32) NOT NULL,
    "slug" VARCHAR(32) NOT NULL UNIQUE,
    "sort" INT NOT NULL,
    "is_farm_product" BOOL NOT NULL,
    "parent_id" BIGINT REFERENCES "categories" ("id") ON DELETE RESTRICT
);
COMMENT ON TABLE "categories" IS 'Category tree: 陈醋, 紫砂, 杂粮, 果蔬, 民俗文旅 and their children.';
CREATE TABLE IF NOT EXISTS "training_courses" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "track" VARCHAR(16) NOT NULL,
    "name" VARCHAR(64) NOT NULL,
    "description" TEXT NOT NULL,
    "is_active" BOOL NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_training_co_track_c9f57f" ON "training_courses" ("track");
COMMENT ON TABLE "training_courses" IS 'A course in one track: basic | intermediate | advanced | cadre | cross_border | livestream |';
CREATE TABLE IF NOT EXISTS "live_stream_events" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "event_key" VARCHAR(160) NOT NULL UNIQUE,
    "action" VARCHAR(16) NOT NULL,
    "stream_name" VARCHAR(64) NOT NULL,
    "app_name" VARCHAR(64) NOT NULL,
    "event_at" TIMESTAMPTZ NOT NULL,
    "session_id" BIGINT,
    "outcome" VARCHAR(32) NOT NULL,
    "received_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_live_stream_stream__a26581" ON "live_stream_events" ("stream_name");
COMMENT ON TABLE "live_stream_events" IS 'An Aliyun publish/publish_done callback, stored once (keyed by its content) before it is applied.';
CREATE TABLE IF NOT EXISTS "payment_notifications" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "kind" VARCHAR(8) NOT NULL,
    "body_hash" VARCHAR(64) NOT NULL UNIQUE,
    "body" TEXT NOT NULL,
    "out_trade_no" VARCHAR(64) NOT NULL,
    "transaction_id" VARCHAR(64) NOT NULL,
    "out_refund_no" VARCHAR(64) NOT NULL,
    "verified" BOOL NOT NULL,
    "outcome" VARCHAR(32) NOT NULL,
    "error" VARCHAR(200) NOT NULL,
    "received_count" INT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "last_received_at" TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS "idx_payment_not_out_tra_b183b9" ON "payment_notifications" ("out_trade_no");
CREATE INDEX IF NOT EXISTS "idx_payment_not_created_908aa7" ON "payment_notifications" ("created_at");
COMMENT ON TABLE "payment_notifications" IS 'Every WeChat Pay notification as received (raw), keyed by the hash of its body: identical';
CREATE TABLE IF NOT EXISTS "stats_screen_tokens" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(64) NOT NULL,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "created_by" BIGINT,
    "created_at" TIMESTAMPTZ NOT NULL,
    "revoked_at" TIMESTAMPTZ,
    "last_used_at" TIMESTAMPTZ
);
COMMENT ON TABLE "stats_screen_tokens" IS 'A read-only token for the service centre''s big screen (大屏). Only its SHA-256 is stored.';
CREATE TABLE IF NOT EXISTS "stats_daily" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "day" DATE NOT NULL,
    "dimension" VARCHAR(24) NOT NULL,
    "key" VARCHAR(64) NOT NULL,
    "label" VARCHAR(64) NOT NULL,
    "orders" BIGINT NOT NULL,
    "units" BIGINT NOT NULL,
    "gmv_fen" BIGINT NOT NULL,
    "refund_fen" BIGINT NOT NULL,
    "total" BIGINT NOT NULL,
    "hits" BIGINT NOT NULL,
    "computed_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "uid_stats_daily_day_f91a19" UNIQUE ("day", "dimension", "key")
);
CREATE INDEX IF NOT EXISTS "idx_stats_daily_dimensi_3401ce" ON "stats_daily" ("dimension", "day");
COMMENT ON TABLE "stats_daily" IS 'One figure row of one Asia/Shanghai calendar day for one dimension value (e.g. day, \"town\",';
CREATE TABLE IF NOT EXISTS "stations" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "code" VARCHAR(32) NOT NULL UNIQUE,
    "name" VARCHAR(64) NOT NULL,
    "level" VARCHAR(16) NOT NULL,
    "town" VARCHAR(32) NOT NULL,
    "village" VARCHAR(32) NOT NULL,
    "address" VARCHAR(200) NOT NULL,
    "latitude" DOUBLE PRECISION,
    "longitude" DOUBLE PRECISION,
    "opening_hours" VARCHAR(64) NOT NULL,
    "contact_name" VARCHAR(32) NOT NULL,
    "contact_phone" VARCHAR(20) NOT NULL,
    "services" JSONB NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "is_poor_village" BOOL NOT NULL,
    "pickup_locked_until" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "parent_id" BIGINT REFERENCES "stations" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_stations_level_c649a6" ON "stations" ("level");
CREATE INDEX IF NOT EXISTS "idx_stations_town_404d39" ON "stations" ("town");
COMMENT ON TABLE "stations" IS 'A service station (服务站): the county centre (县级中心), a town centre (乡镇服务中心) or a';
CREATE TABLE IF NOT EXISTS "trace_sms_inbound" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "message_id" VARCHAR(64) NOT NULL UNIQUE,
    "phone" VARCHAR(20) NOT NULL,
    "content" VARCHAR(200) NOT NULL,
    "code" VARCHAR(16) NOT NULL,
    "answered_at" TIMESTAMPTZ,
    "received_at" TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE "trace_sms_inbound" IS 'An inbound SMS lookup (上行短信), kept by the provider''s message id: a redelivery is one lookup.';
CREATE TABLE IF NOT EXISTS "training_scan_marks" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(32) NOT NULL UNIQUE,
    "scanned_to" TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE "training_scan_marks" IS 'The milestone scanner''s watermark (so a lost or repeated run re-scans, never skips).';
CREATE TABLE IF NOT EXISTS "users" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "openid" VARCHAR(64) UNIQUE,
    "unionid" VARCHAR(64),
    "session_key" VARCHAR(128),
    "phone" VARCHAR(20) UNIQUE,
    "phone_verified_at" TIMESTAMPTZ,
    "nickname" VARCHAR(64) NOT NULL,
    "is_active" BOOL NOT NULL,
    "token_version" INT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "last_login_at" TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS "idx_users_unionid_1307c1" ON "users" ("unionid");
COMMENT ON TABLE "users" IS 'A person: a WeChat user (openid) or a light account created by phone at a station (代购).';
CREATE TABLE IF NOT EXISTS "audit_log" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "action" VARCHAR(64) NOT NULL,
    "object_type" VARCHAR(32) NOT NULL,
    "object_id" VARCHAR(64) NOT NULL,
    "data" JSONB NOT NULL,
    "request_id" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "actor_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_audit_log_action_286eba" ON "audit_log" ("action");
CREATE INDEX IF NOT EXISTS "idx_audit_log_created_277f5d" ON "audit_log" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_audit_log_object__f82613" ON "audit_log" ("object_type", "object_id");
COMMENT ON TABLE "audit_log" IS 'Who did what to which object (审计日志). Append-only.';
CREATE TABLE IF NOT EXISTS "live_livestreamers" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "display_name" VARCHAR(32) NOT NULL,
    "avatar" VARCHAR(300) NOT NULL,
    "bio" VARCHAR(500) NOT NULL,
    "trainee_id" BIGINT,
    "incubation_base" BOOL NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "user_id" BIGINT NOT NULL UNIQUE REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_live_livest_trainee_dbc0a5" ON "live_livestreamers" ("trainee_id");
COMMENT ON TABLE "live_livestreamers" IS 'A livestreamer (主播): display data and the link to their trainee record (学员档案).';
CREATE TABLE IF NOT EXISTS "merchants" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(64) NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "contact_name" VARCHAR(32) NOT NULL,
    "contact_phone" VARCHAR(20) NOT NULL,
    "licence_no" VARCHAR(64) NOT NULL,
    "town" VARCHAR(32) NOT NULL,
    "village" VARCHAR(32) NOT NULL,
    "is_poor_household" BOOL NOT NULL,
    "description" TEXT NOT NULL,
    "reviewed_at" TIMESTAMPTZ,
    "reject_reason" VARCHAR(500) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "applicant_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL,
    "operated_by_station_id" BIGINT REFERENCES "stations" ("id") ON DELETE SET NULL,
    "reviewed_by_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_merchants_kind_f151ec" ON "merchants" ("kind");
CREATE INDEX IF NOT EXISTS "idx_merchants_status_1cd0fb" ON "merchants" ("status");
CREATE INDEX IF NOT EXISTS "idx_merchants_town_7eb735" ON "merchants" ("town");
COMMENT ON TABLE "merchants" IS 'A seller (商户): a household (农户), cooperative (合作社) or enterprise (企业).';
CREATE TABLE IF NOT EXISTS "inbound_notes" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "status" VARCHAR(12) NOT NULL,
    "note" VARCHAR(200) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "received_at" TIMESTAMPTZ,
    "created_by_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL,
    "merchant_id" BIGINT NOT NULL REFERENCES "merchants" ("id") ON DELETE RESTRICT,
    "received_by_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_inbound_not_status_7a0334" ON "inbound_notes" ("status");
COMMENT ON TABLE "inbound_notes" IS 'A merchant''s delivery into the county warehouse (入库单): expected lines, then received.';
CREATE TABLE IF NOT EXISTS "training_lecturers" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(32) NOT NULL,
    "qualification_kind" VARCHAR(16) NOT NULL,
    "certificate_name" VARCHAR(64) NOT NULL,
    "certificate_no" VARCHAR(64) NOT NULL,
    "certificate_issuer" VARCHAR(64) NOT NULL,
    "bio" TEXT NOT NULL,
    "is_active" BOOL NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "merchant_id" BIGINT REFERENCES "merchants" ("id") ON DELETE RESTRICT,
    "user_id" BIGINT NOT NULL UNIQUE REFERENCES "users" ("id") ON DELETE RESTRICT
);
COMMENT ON TABLE "training_lecturers" IS 'A lecturer (讲师): a user with a recorded qualification — a certification or real shop';
CREATE TABLE IF NOT EXISTS "live_rooms" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "title" VARCHAR(64) NOT NULL,
    "on_behalf" VARCHAR(16) NOT NULL,
    "default_commission_bp" INT NOT NULL,
    "is_active" BOOL NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "merchant_id" BIGINT REFERENCES "merchants" ("id") ON DELETE RESTRICT,
    "owner_id" BIGINT NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT
);
COMMENT ON TABLE "live_rooms" IS 'A livestreamer''s room (直播间), optionally run on behalf of a merchant or the incubation base.';
CREATE TABLE IF NOT EXISTS "live_sessions" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "merchant_id" BIGINT,
    "title" VARCHAR(64) NOT NULL,
    "cover" VARCHAR(300) NOT NULL,
    "scheduled_at" TIMESTAMPTZ NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "stream_name" VARCHAR(64) NOT NULL UNIQUE,
    "commission_bp" INT NOT NULL,
    "on_air_tiein_id" BIGINT,
    "started_at" TIMESTAMPTZ,
    "ended_at" TIMESTAMPTZ,
    "ended_by" VARCHAR(16) NOT NULL,
    "last_stream_event_at" TIMESTAMPTZ,
    "quota_returned" BOOL NOT NULL,
    "version" INT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "livestreamer_id" BIGINT NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT,
    "room_id" BIGINT NOT NULL REFERENCES "live_rooms" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_live_sessio_merchan_092acd" ON "live_sessions" ("merchant_id");
CREATE INDEX IF NOT EXISTS "idx_live_sessio_schedul_abb094" ON "live_sessions" ("scheduled_at");
CREATE INDEX IF NOT EXISTS "idx_live_sessio_status_7c6124" ON "live_sessions" ("status");
CREATE INDEX IF NOT EXISTS "idx_live_sessio_ended_a_821d6f" ON "live_sessions" ("ended_at");
COMMENT ON TABLE "live_sessions" IS 'A scheduled broadcast (直播场次). Its stream name is unique so Aliyun callbacks find it.';
CREATE TABLE IF NOT EXISTS "live_session_figures" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "viewers" INT NOT NULL,
    "peak_viewers" INT NOT NULL,
    "orders" INT NOT NULL,
    "buyers" INT NOT NULL,
    "units" INT NOT NULL,
    "gmv_fen" BIGINT NOT NULL,
    "cancelled_units" INT NOT NULL,
    "conversion_bp" INT NOT NULL,
    "per_product" JSONB NOT NULL,
    "stored_at" TIMESTAMPTZ NOT NULL,
    "session_id" BIGINT NOT NULL UNIQUE REFERENCES "live_sessions" ("id") ON DELETE CASCADE
);
COMMENT ON TABLE "live_session_figures" IS 'Figures of an ended session, copied from Redis when it ends (实时数据 → 场次数据).';
CREATE TABLE IF NOT EXISTS "orders" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "order_no" VARCHAR(32) NOT NULL UNIQUE,
    "status" VARCHAR(24) NOT NULL,
    "fulfilment" VARCHAR(16) NOT NULL,
    "address" JSONB,
    "goods_fen" BIGINT NOT NULL,
    "shipping_fen" BIGINT NOT NULL,
    "total_fen" BIGINT NOT NULL,
    "paid_fen" BIGINT NOT NULL,
    "refunded_fen" BIGINT NOT NULL,
    "payment_method" VARCHAR(16) NOT NULL,
    "source" VARCHAR(16) NOT NULL,
    "live_session_id" BIGINT,
    "livestreamer_id" BIGINT,
    "idempotency_key" VARCHAR(64),
    "request_hash" VARCHAR(64) NOT NULL,
    "note" VARCHAR(200) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "expires_at" TIMESTAMPTZ,
    "paid_at" TIMESTAMPTZ,
    "cancelled_at" TIMESTAMPTZ,
    "cancel_reason" VARCHAR(64) NOT NULL,
    "completed_at" TIMESTAMPTZ,
    "assisted_by_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL,
    "buyer_id" BIGINT NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT,
    "station_id" BIGINT REFERENCES "stations" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_orders_buyer_i_03ddf1" UNIQUE ("buyer_id", "idempotency_key")
);
CREATE INDEX IF NOT EXISTS "idx_orders_status_33ec6d" ON "orders" ("status");
CREATE INDEX IF NOT EXISTS "idx_orders_live_se_c88b91" ON "orders" ("live_session_id");
CREATE INDEX IF NOT EXISTS "idx_orders_livestr_d4d6b0" ON "orders" ("livestreamer_id");
CREATE INDEX IF NOT EXISTS "idx_orders_created_cdc9e7" ON "orders" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_orders_paid_at_2ca315" ON "orders" ("paid_at");
COMMENT ON TABLE "orders" IS 'A buyer''s order. Money in fen; our order_no is WeChat Pay''s out_trade_no.';
CREATE TABLE IF NOT EXISTS "fulfillment_tasks" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "status" VARCHAR(16) NOT NULL,
    "mode" VARCHAR(8) NOT NULL,
    "fulfilment" VARCHAR(16) NOT NULL,
    "route" JSONB NOT NULL,
    "cold_chain" BOOL NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "packed_at" TIMESTAMPTZ,
    "shipped_at" TIMESTAMPTZ,
    "shipping_uploaded_at" TIMESTAMPTZ,
    "destination_station_id" BIGINT REFERENCES "stations" ("id") ON DELETE RESTRICT,
    "town_station_id" BIGINT REFERENCES "stations" ("id") ON DELETE RESTRICT,
    "order_id" BIGINT NOT NULL UNIQUE REFERENCES "orders" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_fulfillment_status_bd8dbc" ON "fulfillment_tasks" ("status");
CREATE INDEX IF NOT EXISTS "idx_fulfillment_created_a61c1e" ON "fulfillment_tasks" ("created_at");
COMMENT ON TABLE "fulfillment_tasks" IS 'One paid order at the county warehouse: what to pick, where it goes, how it travels.';
CREATE TABLE IF NOT EXISTS "order_events" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "from_status" VARCHAR(128) NOT NULL,
    "to_status" VARCHAR(24) NOT NULL,
    "actor_id" BIGINT,
    "data" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "order_id" BIGINT NOT NULL REFERENCES "orders" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_order_event_order_i_a85faf" ON "order_events" ("order_id");
COMMENT ON TABLE "order_events" IS 'One status change of an order (append-only): who moved it from where to where, and why.';
CREATE TABLE IF NOT EXISTS "parcels" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "label" VARCHAR(24) NOT NULL UNIQUE,
    "status" VARCHAR(20) NOT NULL,
    "direction" VARCHAR(8) NOT NULL,
    "route" JSONB NOT NULL,
    "position" INT NOT NULL,
    "moving" BOOL NOT NULL,
    "version" INT NOT NULL,
    "weight_g" INT NOT NULL,
    "cold_chain" BOOL NOT NULL,
    "pod_code" VARCHAR(8) NOT NULL,
    "courier_company" VARCHAR(32) NOT NULL,
    "tracking_no" VARCHAR(40) NOT NULL,
    "return_reason" VARCHAR(64) NOT NULL,
    "packed_at" TIMESTAMPTZ NOT NULL,
    "dispatched_at" TIMESTAMPTZ,
    "finished_at" TIMESTAMPTZ,
    "order_id" BIGINT NOT NULL REFERENCES "orders" ("id") ON DELETE RESTRICT,
    "packed_by_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL,
    "task_id" BIGINT NOT NULL REFERENCES "fulfillment_tasks" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_parcels_status_f8a384" ON "parcels" ("status");
CREATE INDEX IF NOT EXISTS "idx_parcels_order_i_a3c829" ON "parcels" ("order_id");
CREATE INDEX IF NOT EXISTS "idx_parcels_task_id_880e60" ON "parcels" ("task_id");
COMMENT ON TABLE "parcels" IS 'A labelled parcel (包裹). Its position on `route` and `moving` say where it is; every change';
CREATE TABLE IF NOT EXISTS "delivery_promises" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "leg" VARCHAR(16) NOT NULL,
    "due_at" TIMESTAMPTZ NOT NULL,
    "met_at" TIMESTAMPTZ,
    "breached_at" TIMESTAMPTZ,
    "parcel_id" BIGINT NOT NULL REFERENCES "parcels" ("id") ON DELETE CASCADE,
    "town_station_id" BIGINT REFERENCES "stations" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_delivery_pr_parcel__853f22" UNIQUE ("parcel_id", "leg")
);
CREATE INDEX IF NOT EXISTS "idx_delivery_pr_due_at_2678e3" ON "delivery_promises" ("due_at");
COMMENT ON TABLE "delivery_promises" IS 'A deadline a parcel carries for one leg (时效承诺): county_town, town_village, county_village.';
CREATE TABLE IF NOT EXISTS "payments" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "method" VARCHAR(16) NOT NULL,
    "out_trade_no" VARCHAR(32) NOT NULL UNIQUE,
    "amount_fen" BIGINT NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "prepay_id" VARCHAR(64) NOT NULL,
    "code_url" VARCHAR(256) NOT NULL,
    "transaction_id" VARCHAR(64) UNIQUE,
    "actor_id" BIGINT,
    "created_at" TIMESTAMPTZ NOT NULL,
    "paid_at" TIMESTAMPTZ,
    "closed_at" TIMESTAMPTZ,
    "last_queried_at" TIMESTAMPTZ,
    "order_id" BIGINT NOT NULL REFERENCES "orders" ("id") ON DELETE RESTRICT,
    "station_id" BIGINT REFERENCES "stations" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_payments_status_c133d1" ON "payments" ("status");
CREATE INDEX IF NOT EXISTS "idx_payments_created_9b8715" ON "payments" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_payments_order_i_b4a5f9" ON "payments" ("order_id");
COMMENT ON TABLE "payments" IS 'One attempt to collect an order''s money: a WeChat prepay order (JSAPI or NATIVE) or cash at a';
CREATE TABLE IF NOT EXISTS "pickups" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "order_no" VARCHAR(32) NOT NULL,
    "buyer_id" BIGINT NOT NULL,
    "code" VARCHAR(8) NOT NULL,
    "open_code" VARCHAR(8),
    "status" VARCHAR(16) NOT NULL,
    "received_at" TIMESTAMPTZ NOT NULL,
    "deadline_at" TIMESTAMPTZ NOT NULL,
    "reminders_sent" SMALLINT NOT NULL,
    "last_reminded_at" TIMESTAMPTZ,
    "notified_wechat_at" TIMESTAMPTZ,
    "notified_sms_at" TIMESTAMPTZ,
    "picked_up_at" TIMESTAMPTZ,
    "verify_method" VARCHAR(8) NOT NULL,
    "returned_at" TIMESTAMPTZ,
    "closed_reason" VARCHAR(64) NOT NULL,
    "received_by_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL,
    "station_id" BIGINT NOT NULL REFERENCES "stations" ("id") ON DELETE RESTRICT,
    "verified_by_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL,
    "order_id" BIGINT NOT NULL UNIQUE REFERENCES "orders" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_pickups_station_e0bf6b" UNIQUE ("station_id", "open_code")
);
CREATE INDEX IF NOT EXISTS "idx_pickups_buyer_i_c04345" ON "pickups" ("buyer_id");
CREATE INDEX IF NOT EXISTS "idx_pickups_status_e064b5" ON "pickups" ("status");
CREATE INDEX IF NOT EXISTS "idx_pickups_receive_d0e4ed" ON "pickups" ("received_at");
CREATE INDEX IF NOT EXISTS "idx_pickups_deadlin_2c58cb" ON "pickups" ("deadline_at");
CREATE INDEX IF NOT EXISTS "idx_pickups_picked__5e6b25" ON "pickups" ("picked_up_at");
CREATE INDEX IF NOT EXISTS "idx_pickups_station_00e59b" ON "pickups" ("station_id", "status", "received_at");
CREATE INDEX IF NOT EXISTS "idx_pickups_station_308a61" ON "pickups" ("station_id", "code");
COMMENT ON TABLE "pickups" IS 'One pickup order received at its station. `open_code` is the code while the pickup is open';
CREATE TABLE IF NOT EXISTS "pickup_returns" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "order_id" BIGINT NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "reason" VARCHAR(64) NOT NULL,
    "refund_requested_at" TIMESTAMPTZ,
    "refund_id" BIGINT,
    "refund_error" VARCHAR(200) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "station_id" BIGINT NOT NULL REFERENCES "stations" ("id") ON DELETE RESTRICT,
    "pickup_id" BIGINT NOT NULL UNIQUE REFERENCES "pickups" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_pickup_retu_order_i_c89b19" ON "pickup_returns" ("order_id");
CREATE INDEX IF NOT EXISTS "idx_pickup_retu_status_9f6a44" ON "pickup_returns" ("status");
CREATE INDEX IF NOT EXISTS "idx_pickup_retu_created_31880d" ON "pickup_returns" ("created_at");
COMMENT ON TABLE "pickup_returns" IS 'A return task (退回) for the logistics side: an uncollected parcel goes back to the warehouse.';
CREATE TABLE IF NOT EXISTS "products" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(64) NOT NULL,
    "subtitle" VARCHAR(128) NOT NULL,
    "description" TEXT NOT NULL,
    "images" JSONB NOT NULL,
    "origin_town" VARCHAR(32) NOT NULL,
    "origin_village" VARCHAR(32) NOT NULL,
    "brand" VARCHAR(16) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "min_price" INT NOT NULL,
    "sales" INT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "published_at" TIMESTAMPTZ,
    "visible" BOOL NOT NULL,
    "search_text" TEXT NOT NULL,
    "reject_reason" VARCHAR(500) NOT NULL,
    "takedown_reason" VARCHAR(500) NOT NULL,
    "taken_down_at" TIMESTAMPTZ,
    "pending_revision" BOOL NOT NULL,
    "category_id" BIGINT NOT NULL REFERENCES "categories" ("id") ON DELETE RESTRICT,
    "merchant_id" BIGINT NOT NULL REFERENCES "merchants" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_products_origin__3b4aa2" ON "products" ("origin_town");
CREATE INDEX IF NOT EXISTS "idx_products_brand_267435" ON "products" ("brand");
CREATE INDEX IF NOT EXISTS "idx_products_status_5ae4f5" ON "products" ("status");
CREATE INDEX IF NOT EXISTS "idx_products_visible_d2ff93" ON "products" ("visible", "category_id", "id");
CREATE INDEX IF NOT EXISTS "idx_products_visible_a8afdb" ON "products" ("visible", "id");
CREATE INDEX IF NOT EXISTS "idx_products_visible_5e4761" ON "products" ("visible", "min_price", "id");
CREATE INDEX IF NOT EXISTS "idx_products_visible_dbbf64" ON "products" ("visible", "sales", "id");
CREATE INDEX IF NOT EXISTS "idx_products_visible_0da8b3" ON "products" ("visible", "category_id", "min_price", "id");
CREATE INDEX IF NOT EXISTS "idx_products_visible_30178c" ON "products" ("visible", "category_id", "sales", "id");
CREATE INDEX IF NOT EXISTS "idx_products_merchan_c3b4eb" ON "products" ("merchant_id", "status", "id");
CREATE INDEX IF NOT EXISTS "idx_products_visible_8aa7cb" ON "products" ("visible", "merchant_id", "id");
COMMENT ON TABLE "products" IS 'A product (SPU). Visible to consumers only when on_sale and its merchant is active.';
CREATE TABLE IF NOT EXISTS "trace_batches" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "code" VARCHAR(64) NOT NULL,
    "sku_ids" JSONB NOT NULL,
    "producer_kind" VARCHAR(12) NOT NULL,
    "producer_name" VARCHAR(64) NOT NULL,
    "origin_town" VARCHAR(32) NOT NULL,
    "origin_village" VARCHAR(32) NOT NULL,
    "origin_plot" VARCHAR(64) NOT NULL,
    "produced_on" DATE,
    "quantity" INT,
    "responsible_name" VARCHAR(32) NOT NULL,
    "responsible_phone" VARCHAR(20) NOT NULL,
    "note" VARCHAR(500) NOT NULL,
    "status" VARCHAR(12) NOT NULL,
    "trace_code" VARCHAR(16) NOT NULL UNIQUE,
    "item_serials" INT NOT NULL,
    "locked_at" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "created_by_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL,
    "merchant_id" BIGINT NOT NULL REFERENCES "merchants" ("id") ON DELETE RESTRICT,
    "product_id" BIGINT NOT NULL REFERENCES "products" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_trace_batch_merchan_f5f448" UNIQUE ("merchant_id", "code")
);
CREATE INDEX IF NOT EXISTS "idx_trace_batch_status_7e6172" ON "trace_batches" ("status");
CREATE INDEX IF NOT EXISTS "idx_trace_batch_product_acdd9e" ON "trace_batches" ("product_id");
COMMENT ON TABLE "trace_batches" IS 'A merchant''s production or harvest batch. `code` is the merchant''s batch number, the same free';
CREATE TABLE IF NOT EXISTS "trace_batch_corrections" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "field" VARCHAR(24) NOT NULL,
    "old_value" JSONB,
    "new_value" JSONB,
    "reason" VARCHAR(500) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "actor_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL,
    "batch_id" BIGINT NOT NULL REFERENCES "trace_batches" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_trace_batch_batch_i_8630ab" ON "trace_batch_corrections" ("batch_id", "id");
COMMENT ON TABLE "trace_batch_corrections" IS 'An append-only correction of a locked batch (更正记录): what, the new value, who and why.';
CREATE TABLE IF NOT EXISTS "trace_batch_inspections" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "lab" VARCHAR(64) NOT NULL,
    "tested_on" DATE NOT NULL,
    "result" VARCHAR(8) NOT NULL,
    "summary" VARCHAR(200) NOT NULL,
    "file" VARCHAR(200) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "batch_id" BIGINT NOT NULL REFERENCES "trace_batches" ("id") ON DELETE CASCADE,
    "correction_id" BIGINT REFERENCES "trace_batch_corrections" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_trace_batch_batch_i_fbef33" ON "trace_batch_inspections" ("batch_id");
COMMENT ON TABLE "trace_batch_inspections" IS 'An inspection report (检测报告): lab, date, result, the report file.';
CREATE TABLE IF NOT EXISTS "trace_batch_steps" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "at" TIMESTAMPTZ NOT NULL,
    "actor" VARCHAR(32) NOT NULL,
    "description" VARCHAR(500) NOT NULL,
    "photos" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "batch_id" BIGINT NOT NULL REFERENCES "trace_batches" ("id") ON DELETE CASCADE,
    "correction_id" BIGINT REFERENCES "trace_batch_corrections" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_trace_batch_batch_i_ded897" ON "trace_batch_steps" ("batch_id", "at");
COMMENT ON TABLE "trace_batch_steps" IS 'One process step (生产过程: 播种, 施肥, 采收, 酿造, 灌装 ...) with time, actor and photos.';
CREATE TABLE IF NOT EXISTS "certifications" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "kind" VARCHAR(24) NOT NULL,
    "number" VARCHAR(64) NOT NULL,
    "issuer" VARCHAR(64) NOT NULL,
    "expires_on" DATE,
    "product_id" BIGINT NOT NULL REFERENCES "products" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_certificati_product_ccb456" ON "certifications" ("product_id");
CREATE INDEX IF NOT EXISTS "idx_certificati_kind_0bc04d" ON "certifications" ("kind", "expires_on", "product_id");
COMMENT ON TABLE "certifications" IS '三品一标 and licences: pollution_free | green | organic | geo_indication | sc_licence.';
CREATE TABLE IF NOT EXISTS "product_reviews" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "kind" VARCHAR(16) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "snapshot" JSONB NOT NULL,
    "reason" VARCHAR(500) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "reviewed_at" TIMESTAMPTZ,
    "merchant_id" BIGINT NOT NULL REFERENCES "merchants" ("id") ON DELETE CASCADE,
    "product_id" BIGINT NOT NULL REFERENCES "products" ("id") ON DELETE CASCADE,
    "reviewed_by_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL,
    "submitted_by_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_product_rev_status_dd0da8" ON "product_reviews" ("status", "id");
CREATE INDEX IF NOT EXISTS "idx_product_rev_product_aa4f7b" ON "product_reviews" ("product_id", "id");
COMMENT ON TABLE "product_reviews" IS 'One submission of a product for review (商品审核): a first listing or a change to an on-sale';
CREATE TABLE IF NOT EXISTS "trace_recalls" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "reason" VARCHAR(500) NOT NULL,
    "status" VARCHAR(12) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "completed_at" TIMESTAMPTZ,
    "withdrawn" JSONB NOT NULL,
    "created_by_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL,
    "batch_id" BIGINT NOT NULL UNIQUE REFERENCES "trace_batches" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_trace_recal_status_f8561c" ON "trace_recalls" ("status");
COMMENT ON TABLE "trace_recalls" IS 'A batch recall (召回) decided by the county office, with a reason; one per batch.';
CREATE TABLE IF NOT EXISTS "trace_recall_contacts" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "order_id" BIGINT NOT NULL,
    "buyer_id" BIGINT NOT NULL,
    "units" INT NOT NULL,
    "wechat" VARCHAR(8) NOT NULL,
    "sms" VARCHAR(8) NOT NULL,
    "parcels" VARCHAR(8) NOT NULL,
    "attempts" INT NOT NULL,
    "last_error" VARCHAR(200) NOT NULL,
    "reached_at" TIMESTAMPTZ,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "recall_id" BIGINT NOT NULL REFERENCES "trace_recalls" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_trace_recal_recall__3313be" UNIQUE ("recall_id", "order_id")
);
COMMENT ON TABLE "trace_recall_contacts" IS 'One order that received the batch: its buyer''s notices and its parcels'' stop (the report row).';
CREATE TABLE IF NOT EXISTS "refunds" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "refund_no" VARCHAR(32) NOT NULL UNIQUE,
    "kind" VARCHAR(8) NOT NULL,
    "amount_fen" BIGINT NOT NULL,
    "lines" JSONB NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "reason" VARCHAR(200) NOT NULL,
    "requested_by" BIGINT,
    "decided_by" BIGINT,
    "decided_at" TIMESTAMPTZ,
    "auto_approved" BOOL NOT NULL,
    "restock" BOOL NOT NULL,
    "wechat_refund_id" VARCHAR(64) NOT NULL,
    "error" VARCHAR(200) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "submitted_at" TIMESTAMPTZ,
    "succeeded_at" TIMESTAMPTZ,
    "order_id" BIGINT NOT NULL REFERENCES "orders" ("id") ON DELETE RESTRICT,
    "payment_id" BIGINT REFERENCES "payments" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_refunds_status_d72c91" ON "refunds" ("status");
CREATE INDEX IF NOT EXISTS "idx_refunds_created_7b2344" ON "refunds" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_refunds_order_i_83dc7c" ON "refunds" ("order_id");
COMMENT ON TABLE "refunds" IS 'A refund (退款) of some lines or a whole order; refund_no is WeChat''s out_refund_no.';
CREATE TABLE IF NOT EXISTS "role_grants" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "role" VARCHAR(32) NOT NULL,
    "is_head" BOOL NOT NULL,
    "scope_key" VARCHAR(80) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "granted_by_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL,
    "merchant_id" BIGINT REFERENCES "merchants" ("id") ON DELETE CASCADE,
    "station_id" BIGINT REFERENCES "stations" ("id") ON DELETE CASCADE,
    "user_id" BIGINT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_role_grants_user_id_21863c" UNIQUE ("user_id", "scope_key")
);
COMMENT ON TABLE "role_grants" IS 'A role held by a user, optionally bound to a station or a merchant.';
CREATE TABLE IF NOT EXISTS "scan_events" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "kind" VARCHAR(20) NOT NULL,
    "direction" VARCHAR(8) NOT NULL,
    "source" VARCHAR(8) NOT NULL,
    "scan_key" VARCHAR(96) NOT NULL UNIQUE,
    "data" JSONB NOT NULL,
    "at" TIMESTAMPTZ NOT NULL,
    "actor_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL,
    "parcel_id" BIGINT NOT NULL REFERENCES "parcels" ("id") ON DELETE CASCADE,
    "station_id" BIGINT REFERENCES "stations" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_scan_events_parcel__afd00e" ON "scan_events" ("parcel_id", "id");
COMMENT ON TABLE "scan_events" IS 'One transfer scan (转运记录): append-only; scan_key makes the same scan twice one event.';
CREATE TABLE IF NOT EXISTS "skus" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "spec" VARCHAR(32) NOT NULL,
    "price" INT NOT NULL,
    "list_price" INT NOT NULL,
    "stock" INT NOT NULL,
    "reserved" INT NOT NULL,
    "weight_g" INT NOT NULL,
    "cold_chain" BOOL NOT NULL,
    "is_active" BOOL NOT NULL,
    "sales" INT NOT NULL,
    "created_at" TIMESTAMPTZ,
    "product_id" BIGINT NOT NULL REFERENCES "products" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_skus_product_2a9a64" ON "skus" ("product_id", "is_active");
COMMENT ON TABLE "skus" IS 'A sellable variant. stock = sellable now; reserved = held by orders not yet shipped.';
CREATE TABLE IF NOT EXISTS "cart_items" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "quantity" INT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "sku_id" BIGINT NOT NULL REFERENCES "skus" ("id") ON DELETE CASCADE,
    "user_id" BIGINT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_cart_items_user_id_12598e" UNIQUE ("user_id", "sku_id")
);
COMMENT ON TABLE "cart_items" IS 'A line in a buyer''s cart (购物车): only the SKU and quantity; prices are always recomputed.';
CREATE TABLE IF NOT EXISTS "inbound_lines" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "batch" VARCHAR(64) NOT NULL,
    "expected_qty" INT NOT NULL,
    "received_qty" INT,
    "note_id" BIGINT NOT NULL REFERENCES "inbound_notes" ("id") ON DELETE CASCADE,
    "sku_id" BIGINT NOT NULL REFERENCES "skus" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_inbound_lin_sku_id_d3b1d8" ON "inbound_lines" ("sku_id", "batch");
CREATE TABLE IF NOT EXISTS "live_tieins" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "product_id" BIGINT NOT NULL,
    "merchant_id" BIGINT NOT NULL,
    "live_price" INT NOT NULL,
    "quota" INT NOT NULL,
    "remaining" INT NOT NULL,
    "sold" INT NOT NULL,
    "per_buyer_limit" INT NOT NULL,
    "commission_bp" INT,
    "sort" INT NOT NULL,
    "is_active" BOOL NOT NULL,
    "returned" INT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "session_id" BIGINT NOT NULL REFERENCES "live_sessions" ("id") ON DELETE CASCADE,
    "sku_id" BIGINT NOT NULL REFERENCES "skus" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_live_tieins_session_711d2c" UNIQUE ("session_id", "sku_id")
);
CREATE INDEX IF NOT EXISTS "idx_live_tieins_merchan_1b4f9a" ON "live_tieins" ("merchant_id");
COMMENT ON TABLE "live_tieins" IS 'A SKU sold in a session at a live price with a quota set aside from sellable stock.';
CREATE TABLE IF NOT EXISTS "live_purchases" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "buyer_id" BIGINT NOT NULL,
    "quantity" INT NOT NULL,
    "tiein_id" BIGINT NOT NULL REFERENCES "live_tieins" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_live_purcha_tiein_i_46905b" UNIQUE ("tiein_id", "buyer_id")
);
COMMENT ON TABLE "live_purchases" IS 'Units a buyer holds from one tie-in (placed, not cancelled): the per-buyer limit''s truth.';
CREATE TABLE IF NOT EXISTS "order_lines" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "product_name" VARCHAR(64) NOT NULL,
    "sku_spec" VARCHAR(32) NOT NULL,
    "image" VARCHAR(300) NOT NULL,
    "unit_price" INT NOT NULL,
    "quantity" INT NOT NULL,
    "amount" BIGINT NOT NULL,
    "refunded_qty" INT NOT NULL,
    "refunded_fen" BIGINT NOT NULL,
    "cold_chain" BOOL NOT NULL,
    "commission_bp" INT NOT NULL,
    "merchant_id" BIGINT NOT NULL REFERENCES "merchants" ("id") ON DELETE RESTRICT,
    "order_id" BIGINT NOT NULL REFERENCES "orders" ("id") ON DELETE CASCADE,
    "product_id" BIGINT NOT NULL REFERENCES "products" ("id") ON DELETE RESTRICT,
    "sku_id" BIGINT NOT NULL REFERENCES "skus" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_order_lines_order_i_471566" ON "order_lines" ("order_id");
COMMENT ON TABLE "order_lines" IS 'One SKU in an order, with the price, merchant and SKU snapshot at checkout.';
CREATE TABLE IF NOT EXISTS "ledger_entries" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "account_type" VARCHAR(16) NOT NULL,
    "account_id" BIGINT,
    "kind" VARCHAR(32) NOT NULL,
    "amount_fen" BIGINT NOT NULL,
    "dedup_key" VARCHAR(96) NOT NULL UNIQUE,
    "created_at" TIMESTAMPTZ NOT NULL,
    "order_id" BIGINT NOT NULL REFERENCES "orders" ("id") ON DELETE RESTRICT,
    "order_line_id" BIGINT REFERENCES "order_lines" ("id") ON DELETE RESTRICT,
    "refund_id" BIGINT REFERENCES "refunds" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_ledger_entr_created_36d3b5" ON "ledger_entries" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_ledger_entr_order_i_b70733" ON "ledger_entries" ("order_id");
CREATE INDEX IF NOT EXISTS "idx_ledger_entr_order_l_26113d" ON "ledger_entries" ("order_line_id");
CREATE INDEX IF NOT EXISTS "idx_ledger_entr_account_e9716e" ON "ledger_entries" ("account_type", "account_id");
COMMENT ON TABLE "ledger_entries" IS 'Settlement ledger (结算台账): immutable, signed entries. For every order, the entries sum to';
CREATE TABLE IF NOT EXISTS "station_alerts" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "kind" VARCHAR(32) NOT NULL,
    "message" VARCHAR(200) NOT NULL,
    "data" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "acknowledged_at" TIMESTAMPTZ,
    "acknowledged_by_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL,
    "station_id" BIGINT NOT NULL REFERENCES "stations" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_station_ale_kind_5ce4f3" ON "station_alerts" ("kind");
CREATE INDEX IF NOT EXISTS "idx_station_ale_created_e52fbc" ON "station_alerts" ("created_at");
COMMENT ON TABLE "station_alerts" IS 'Something admins must look at, e.g. a station locked after repeated wrong pickup codes.';
CREATE TABLE IF NOT EXISTS "station_villagers" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(32) NOT NULL,
    "bound_via" VARCHAR(8) NOT NULL,
    "bound_at" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "bound_by_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL,
    "created_by_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL,
    "station_id" BIGINT NOT NULL REFERENCES "stations" ("id") ON DELETE CASCADE,
    "user_id" BIGINT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_station_vil_station_61f862" UNIQUE ("station_id", "user_id")
);
COMMENT ON TABLE "station_villagers" IS 'A villager served at a station counter (代购): a light account found or created by phone and';
CREATE TABLE IF NOT EXISTS "fulfillment_task_lines" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "quantity" INT NOT NULL,
    "picked_qty" INT NOT NULL,
    "packed_qty" INT NOT NULL,
    "cold_chain" BOOL NOT NULL,
    "order_line_id" BIGINT NOT NULL REFERENCES "order_lines" ("id") ON DELETE RESTRICT,
    "sku_id" BIGINT NOT NULL REFERENCES "skus" ("id") ON DELETE RESTRICT,
    "task_id" BIGINT NOT NULL REFERENCES "fulfillment_tasks" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_fulfillment_order_l_e16920" ON "fulfillment_task_lines" ("order_line_id");
COMMENT ON TABLE "fulfillment_task_lines" IS 'One order line to pick and pack; picked and packed only ever grow, under guards.';
CREATE TABLE IF NOT EXISTS "parcel_lines" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "quantity" INT NOT NULL,
    "parcel_id" BIGINT NOT NULL REFERENCES "parcels" ("id") ON DELETE CASCADE,
    "sku_id" BIGINT NOT NULL REFERENCES "skus" ("id") ON DELETE RESTRICT,
    "task_line_id" BIGINT NOT NULL REFERENCES "fulfillment_task_lines" ("id") ON DELETE RESTRICT
);
CREATE TABLE IF NOT EXISTS "fulfillment_picks" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "batch" VARCHAR(64) NOT NULL,
    "quantity" INT NOT NULL,
    "source" VARCHAR(8) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "actor_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL,
    "line_id" BIGINT NOT NULL REFERENCES "fulfillment_task_lines" ("id") ON DELETE CASCADE
);
COMMENT ON TABLE "fulfillment_picks" IS 'A pick scan: which batch (批次) of a SKU went into a task line, by whom — for traceability.';
CREATE TABLE IF NOT EXISTS "trace_codes" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "code" VARCHAR(16) NOT NULL UNIQUE,
    "kind" VARCHAR(8) NOT NULL,
    "serial" INT NOT NULL,
    "scan_count" INT NOT NULL,
    "first_scan_at" TIMESTAMPTZ,
    "last_scan_at" TIMESTAMPTZ,
    "flagged" BOOL NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "batch_id" BIGINT NOT NULL REFERENCES "trace_batches" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_trace_codes_batch_i_d0efce" UNIQUE ("batch_id", "serial")
);
COMMENT ON TABLE "trace_codes" IS 'A trace code (溯源码): the batch''s own (serial 0) or one item''s (serial 1..n). Random, so codes';
CREATE TABLE IF NOT EXISTS "trace_flags" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "batch_id" BIGINT NOT NULL,
    "reason" VARCHAR(16) NOT NULL,
    "data" JSONB NOT NULL,
    "status" VARCHAR(12) NOT NULL,
    "resolved_at" TIMESTAMPTZ,
    "note" VARCHAR(200) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "resolved_by_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL,
    "trace_code_id" BIGINT NOT NULL REFERENCES "trace_codes" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_trace_flags_trace_c_21a883" UNIQUE ("trace_code_id", "reason")
);
CREATE INDEX IF NOT EXISTS "idx_trace_flags_batch_i_205891" ON "trace_flags" ("batch_id");
CREATE INDEX IF NOT EXISTS "idx_trace_flags_status_27f201" ON "trace_flags" ("status");
COMMENT ON TABLE "trace_flags" IS 'A possible counterfeit (疑似假冒) for the county office: an item code scanned too often or in';
CREATE TABLE IF NOT EXISTS "trace_scans" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "at" TIMESTAMPTZ NOT NULL,
    "channel" VARCHAR(8) NOT NULL,
    "city" VARCHAR(32) NOT NULL,
    "lat" DOUBLE PRECISION,
    "lng" DOUBLE PRECISION,
    "ip_prefix" VARCHAR(48) NOT NULL,
    "trace_code_id" BIGINT NOT NULL REFERENCES "trace_codes" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_trace_scans_trace_c_6bc637" ON "trace_scans" ("trace_code_id", "at");
COMMENT ON TABLE "trace_scans" IS 'One scan of a code with coarse place and time (no user, no precise position).';
CREATE TABLE IF NOT EXISTS "training_trainees" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(32) NOT NULL,
    "phone" VARCHAR(20) NOT NULL,
    "town" VARCHAR(32) NOT NULL,
    "village" VARCHAR(32) NOT NULL,
    "groups" JSONB NOT NULL,
    "is_poor_household" BOOL NOT NULL,
    "consent" BOOL NOT NULL,
    "consent_at" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "created_by_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL,
    "village_station_id" BIGINT REFERENCES "stations" ("id") ON DELETE SET NULL,
    "user_id" BIGINT UNIQUE REFERENCES "users" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_training_tr_town_c369b4" ON "training_trainees" ("town");
COMMENT ON TABLE "training_trainees" IS 'A trainee (学员) profile. Personal data: visible only to the county office and the trainee.';
CREATE TABLE IF NOT EXISTS "training_incubations" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "kind" VARCHAR(16) NOT NULL,
    "note" VARCHAR(200) NOT NULL,
    "scope_key" VARCHAR(80) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "created_by_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL,
    "mentor_id" BIGINT REFERENCES "training_lecturers" ("id") ON DELETE SET NULL,
    "merchant_id" BIGINT REFERENCES "merchants" ("id") ON DELETE RESTRICT,
    "station_id" BIGINT REFERENCES "stations" ("id") ON DELETE RESTRICT,
    "trainee_id" BIGINT NOT NULL REFERENCES "training_trainees" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_training_in_trainee_9236b9" UNIQUE ("trainee_id", "scope_key")
);
COMMENT ON TABLE "training_incubations" IS 'What a trainee became (孵化): a merchant member, a livestreamer or station staff, with a mentor.';
CREATE TABLE IF NOT EXISTS "training_milestones" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "kind" VARCHAR(24) NOT NULL,
    "occurred_at" TIMESTAMPTZ NOT NULL,
    "data" JSONB NOT NULL,
    "recorded_at" TIMESTAMPTZ NOT NULL,
    "trainee_id" BIGINT NOT NULL REFERENCES "training_trainees" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_training_mi_trainee_37747e" UNIQUE ("trainee_id", "kind")
);
COMMENT ON TABLE "training_milestones" IS 'A milestone as it happened: first_product | first_sale | first_live_session | first_gmv_month.';
CREATE TABLE IF NOT EXISTS "training_sessions" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "title" VARCHAR(64) NOT NULL,
    "starts_on" DATE NOT NULL,
    "ends_on" DATE NOT NULL,
    "online" BOOL NOT NULL,
    "venue_detail" VARCHAR(200) NOT NULL,
    "capacity" INT NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "course_id" BIGINT NOT NULL REFERENCES "training_courses" ("id") ON DELETE RESTRICT,
    "created_by_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL,
    "venue_station_id" BIGINT REFERENCES "stations" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_training_se_status_fc06de" ON "training_sessions" ("status");
CREATE INDEX IF NOT EXISTS "idx_training_se_starts__70bed6" ON "training_sessions" ("starts_on", "ends_on");
COMMENT ON TABLE "training_sessions" IS 'A training session (培训班次): a course held on a span of days at a venue or online.';
CREATE TABLE IF NOT EXISTS "training_enrolments" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "session_id" BIGINT NOT NULL REFERENCES "training_sessions" ("id") ON DELETE CASCADE,
    "trainee_id" BIGINT NOT NULL REFERENCES "training_trainees" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_training_en_session_ee3779" UNIQUE ("session_id", "trainee_id")
);
CREATE TABLE IF NOT EXISTS "training_session_files" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "kind" VARCHAR(16) NOT NULL,
    "media_key" VARCHAR(300) NOT NULL,
    "url" VARCHAR(500) NOT NULL,
    "filename" VARCHAR(200) NOT NULL,
    "content_type" VARCHAR(100) NOT NULL,
    "size" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "session_id" BIGINT NOT NULL REFERENCES "training_sessions" ("id") ON DELETE CASCADE,
    "uploaded_by_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_training_se_kind_d7d1d6" ON "training_session_files" ("kind");
COMMENT ON TABLE "training_session_files" IS 'An archive file (培训档案) of a session: plan | notice | syllabus | material | slides | photo |';
CREATE TABLE IF NOT EXISTS "training_session_lecturers" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "lecturer_id" BIGINT NOT NULL REFERENCES "training_lecturers" ("id") ON DELETE RESTRICT,
    "session_id" BIGINT NOT NULL REFERENCES "training_sessions" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_training_se_session_43f056" UNIQUE ("session_id", "lecturer_id")
);
CREATE TABLE IF NOT EXISTS "training_signins" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "day" DATE NOT NULL,
    "method" VARCHAR(8) NOT NULL,
    "reason" VARCHAR(200) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "session_id" BIGINT NOT NULL REFERENCES "training_sessions" ("id") ON DELETE CASCADE,
    "signed_by_id" BIGINT REFERENCES "users" ("id") ON DELETE SET NULL,
    "trainee_id" BIGINT NOT NULL REFERENCES "training_trainees" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_training_si_session_36b8a9" UNIQUE ("session_id", "trainee_id", "day")
);
COMMENT ON TABLE "training_signins" IS 'One sign-in (签到) per trainee per session day: the unique constraint is the guarantee.';
CREATE TABLE IF NOT EXISTS "wms_inbox" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "event_id" VARCHAR(64) NOT NULL UNIQUE,
    "kind" VARCHAR(32) NOT NULL,
    "received_at" TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE "wms_inbox" IS 'Inbound WMS events seen, by their event id: a replay is refused.';
CREATE TABLE IF NOT EXISTS "wms_outbox" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "event_id" VARCHAR(40) NOT NULL UNIQUE,
    "kind" VARCHAR(32) NOT NULL,
    "payload" JSONB NOT NULL,
    "status" VARCHAR(12) NOT NULL,
    "attempts" INT NOT NULL,
    "last_error" VARCHAR(200) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "delivered_at" TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS "idx_wms_outbox_status_bc89e1" ON "wms_outbox" ("status");
COMMENT ON TABLE "wms_outbox" IS 'An outbound WMS webhook event; delivered at least once, idempotent by event_id.';
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztfWtz4zaW9l9B+Uva9SoeW753dreq0+lkPeNud7WdydTGUwpEQhZGFMHwYse7mf/+Au"
    "BFvIAUQFESiUZVl9oScUDpAQjgnPOcc/7vYEls5ARH7yIbh7fk6eAt+L8DFy4R/aNybQQO"
    "oOetrrAPQjh1eGPIWk2cpNk0CH1ohfTCDDoBoh/ZKLB87IWYuKz5L3MCbGyDlzkMQUjo/9"
    "iaAzL9F7JC8OYxOp/Ck8foir9enKNz+snMvjw8Au88D7n2t8R1Xo/YrWxi0Xth96nTXiMX"
    "/x6hSUieUDhHPu3713/Sj7Froz9QwN7+ehB3OwlfPcREkrfYPvgna+otJjOMHLuAKL1IL/"
    "HPYzn62ff46cYNf+Rt2e+ZTiziREt31d57DefEzQSwG7JPn5CLfBgidofQjxjGbuQ4yXik"
    "sMc/ZNUk/gU5GRvNYOSwkWLS8RdYfXYwmXy6e5jcf3iYTA4qo5hK5IYg+cgiLpsB9KsGHI"
    "An9hW+vR6PT08vx8enF1fnZ5eX51fHV7Qt/77VS5f/jr/MCq24K47ZzU83nx446nSaxROQ"
    "ffBvLgNDGEvxgVqhTyck+96VEXg/h74Y/5VEaQzojyuPQYp40yCkH+xpFJbwj4mD3KdwTt"
    "9enDUA/Pd3X97/97svby7ODosof0qujPklhvcK39IDIQtySWxbSK8Wop1DfTqWgPp0XAs1"
    "uySEWrSerAVauKjoAHP3M5otJVWE/3p/90mMcNq+BK6N6fbzJ3BwUFm5uwL54D9mkctXKz"
    "CNsBNiNzhit/2vgy1B3wA1w4f1vAyC3508xG8+vvtHGf33t3ffc8hIED75vBfewfelofAR"
    "BSNQnfJFqd3N+YNtwb7tGW/5iEExgWEV5h/olRAvkRjqomT5CUhEj9I/Brh70t9n39EDYn"
    "LfBuQfbj5+uH949/Fz4Sn44d3DB3ZlzD99LX365qI0Slkn4Jebh/8G7C34n7tPH8oPS9bu"
    "4X8O2HeCUUgmLnmZQDsHUfppCmNh0Okxh/jCJ6vpcJqXWn9EFQxw8tV6s5ns7JDK9IPZou"
    "6MSvzqOPxIfISf3L+hVz4WN/SLQ9cSnZcSpe3nAMksbj0bgn+ncyz9dPUVffiSKVSFqUd/"
    "O/3FKOS/nn4B8Onn29sDjvEUWosX6NuTAtjsChmT0idZ2+ql5XhZ/gS68InDw34H+9YJ7N"
    "/D0JofCJTo+MKoSYNmGjOaTFlDFMhp0e/AEvnWHLrhNwHwfGJH8RGA+IBuic905wO8vyPw"
    "m0Vv+BvAAaD6bF6KX6c/YzlF/ohfDOg3BzMfoYp6vd3bPboh+iPkn9GBQHMSBQj4yCK+HQ"
    "B6F+xOSeTawCUhCgCkf3nYWoDAgm4A3sRTGHjIz25H9fo7+pCAJ0JoDzOfLB9dHALaNwiI"
    "Y4M3vznEWvAt67fD+MvEw8ybuOiZ9kXoy4uPwxC5bwH9KvT7sJ8cN4HcaoDsOpPBrwfpVz"
    "ngc91GsW2gYEZIcDSGg/4aDvjIKZw60/ZGx5I4cQaLiM79QEXNyon0Q9Ni99NG04oXJORP"
    "FhQGlWlfEdyhvpVfaLf/FJzIGHRO6g06JxWDToYd/6AN6KmgUXLXGyp9/IQpRORFyRpcEt"
    "MO6C2YKWPEnjH9/U9qRuGKpIFbFm7PIQLrzVqsUzHtgO5+AUkWXaosChYQZiZrXKtTsSYb"
    "2WB1dxHGzMZVQvD3iG7WOHytwler0+RFNLI3jU/OLs+uTi/OMpUm+6RJk0m1lryFPPDoHT"
    "D9scqnCJGsdutA9wtuHjaPgtUa80xYO9DHxxKgj49rQWeXiqAz+48Kzml77aA9P5bBlraq"
    "BZdfK6njIQwjgTZej+9KYmckiQPiIXeoql5s51W1KRWlukF6v6a9IswXMjCXfWQ5mC/KMO"
    "MQLScB8jF0BNO53nJaEmt10mi1ahwP5JyRGc3FR996D3FBsAMHcc/OcwNxCKeYNHqEh0UD"
    "2O2xXV8eQOTZLUe9KGlGvS+jLnjYk29ffdanr8oUkIqoRnr5TnyOOZ5A4sBQHoOS4O7OK9"
    "oNQc4TrzQCRTkzAF1xofI+vQ3pUB9zXQ1sKGQ5UaV1oECL+kL3iC837x8ORPO9A3g/r3rS"
    "FN3iMy4B7mpr7ABfvdl8lVOEMqUvT9XJKFqCRTwR/vFvX5ADa0J78oS991lvGk3topXEDb"
    "zu8LrJetMVryBEXhdI3dN+dMWIGSk3xOiBWTvfJ8ZOXTBSIh7nnUwWdJx6PO9c9EDoy3pU"
    "v2Q96bGR/LsNOzu3ptfxtIvLvhRje1LaeCS4227CH+ZRxzluMSAzAEFsLE340m8eo4uL2R"
    "l9nV6csgDm6TELXT4/P3zLY51j8rKLXsAzdNjQvcwJZ0i/zAVR0ju9s0wkdYxgvPcbGnRv"
    "adCzFGNZn1UmoCEReixDKhrXk4rGVVYi7YY/RFWI66nQBaGNyND9XPN3xnqmS5g6+gUhg/"
    "4m0b0wUEvNsJLQcHHZCrPD+PTq0R+md8fE9vbxALXCPn+ulcc+L2WcCV05E6ZpAO6Gptgs"
    "kHdggyBrjM3PvoId9v27+/fvfvhwUF1djIF70OHqOaNtnUGkaNeVM4iULMtSBpGVDPCRR3"
    "yetO3iyjqmr/bZlL6OIUvadnYGD98COitGgJ06RrR1QEc2NkYkkjPsIKHtYys3UTJzGANH"
    "Pw0cFBsVFSRprqH+0X3EVIiCUDleqiC0YbRU3wBXC5eKlx41/TiV0HB+XklMz6va2XlViX"
    "mIlkvoCxz1DUEPKxHt4krGUtaHcYP1YVy1PrCdUs127OgZtbMVdI1tpx59fW07xr6wR+PO"
    "ym2qTpsuixoTm7Hy9NjKYxX4EF1Aq0Ss69lEl6Y1lp/y/pl+OAutzuiTUtTkzD0ZMW69oe"
    "fORSx7oIWCADAxZn+5PD+ZPUZnCF4+Rlczi75ewuPpW/AYXZxBm767tuwRe3c+pe+ujuE5"
    "e3d9wlpenJ9exO8uaR/Xx+Nj9u7y+MyiLa+sc3B0dHQIXnA4B+wMMwLcHhdnEJyTkARVM1"
    "E/v6Iql4ae6YypqZ+mJvWDurYH9IEcyAWhdDXeVhU1NxPQTs/tPttK/mspQFwS09ActhW6"
    "SLzvVIGuZ0OtJExWzsKC1QVDylh46h8GY+ExFh5j4dFoFIyFZ92+Yyw8PcC43xae99APb0"
    "K0PBAYeLJroyb7jkVbTVhCLOlyFA52EcAugPQU9or8bwLA+mDWkyt7zGwk44trZj25uDh8"
    "C3j0ESPT3P/tZ27qSDN8fgc8H1soKbLgvMDXgBeCWHpRmFRbKNWl2Nl9hVUeooS9FiyiSo"
    "EHY3/ppf1lH/ln+7aVdJ0Yzqgo9VDrq6KYpGG6jbrA0lnNg8BLsKjtYCsZnZbPHSul7Kyh"
    "jHxOyEDflSaanvp2E/rQtyGQ1ZFyU2+9GsoO0Jsjeh/3oimgq1VUjOe+lM0QPRH/9UCobC"
    "bXRs3KJm+FZWsfpr1SkBBiXvhreoJlHvarKfet2+Mpfb06HnOf/OXZmL6zIIrfXTO/+/nY"
    "4u+sk5PH6Gxmcz/9FX+1zrliSFU87ANrjh3bR25V8dzTd1jPAzBaZy+1TtWyHLsvxbEzn2"
    "X37uHAiZ5UwE3ba5dLfwvQEl+g3dUf9JPmJnd++fSOg8kM+stJberN7wlxEHRrFuOqdAni"
    "KRXfFsbZJ7v1pn9/d3dbUIq/vymtu59+/vj9hy9vTviEpo1wWKM7eZDuoC3y++bFjCOvI/"
    "UpRrWD437+eDmscZA98hcmYE3u2fpjf85AmxwiBdNfITejfngXF4l4cd0wgaV+GZHV0leq"
    "qo/ID/EMW7AuDUGxwahRkcw3lVQmGa/7+JoF/Vsn/G+WDIAuelwDc7CF6AoUvAUecZyI+3"
    "tZwXrwJ3ii/7n0f+I/QRdb7BNEJnTkktvTDwJrknRQ1R93d1sZ6ni+Ev0I/HqQlnFGf3jY"
    "R0Eah23q1fdhZx01qJmqhbt3X697Z7pQ92ka3Wg5FRl+G7T4TEJDgLtPFYGDIFIDeCWhHY"
    "u+e3iLq3nVXyuGuLQHfMWVi02VmJ7pkaaKSRdVTPbtPyKRH6AD0ck/vtJ45Oc/mgJEEWCN"
    "pemKcXNGHCQuAqz54i2YwoAfqSmMyF8iG9N5QN9C+5lNH5v+aUGqRbP/fRIEkynxbeTz+J"
    "ZnRO+J4BL8WTnqb/Nmj66DrDDy6YU3VJm4nEHmdTo7/gvTKTj9EcFL+uYa2lerN1dXF7Tx"
    "dGbRV3Q5ZmGp6OovjDGJaKvzq6tT+uYyTv7OA1zP0BSy7Ghn9l94JvgxEzy+4ndk7MoptA"
    "+Nf6rvS2mT4sAnpcrJKxPYWennnR1su69IbLx/WzzWNgaHPqA/ataPvQWHbk1/aCIZfvjH"
    "Q8GVUglMzDiGt3effkqbl6MVKy4tusvS3UjdmbWS26EbK11RBuvFMjTr+kVmmITbOpp1Re"
    "uRcfLQ42+weTm3h+REfR/3NsC5sBc/xg+Incv9V6pKLrFYnyk3aVRs7KQxc/mz1tKajU0f"
    "BB4UBYEHfQs5LCCKkevAjPhcAXHQE098fD67YK+Mt3YxZtlprqYzlviYqitu+EoP8S/uCL"
    "DXyTOmg/1Eb5dcSt6L4rF2fXthWFZ85wN+gH4ygVnDUEHYUCmckZPmGh6Ru9c/bPqEqB8a"
    "VlK7OTDscsoP5HwgCMipxmEtUdhidFdSHYzucOz6gxvdKT3ZWvNWp/6SqBnnPo9zfGZpQ1"
    "FciRnfUuvoOn7QDELYKumLQNiwRbtjiyZn+U2dfFlHA3sgFMiiq6VgfchdftJ2AO/9qqdh"
    "zXJZeAUPuTIjd5sWiA+uT5wl4t+/YntYXRxJuVNR2l7O7lAPtlA/D1a2JX5HhIyS3p/FeN"
    "SgpBsTdP0A6WWCLkSBxc+ret6Hgpw5nbY/ncarpPrBtCBnBqCrQ2luA9vw2KSvu6V8fiou"
    "BhLn0+Rk0BHGaIh7ivTZtPCc94ne92PkzLDDj5IPMFiIzqblJo0n1Nmq8SSkrVUqT0Bsg5"
    "hFB0OeBjD2JwH6K9GcRAF6C17m7BIBHrYWI/oO+QjgEDwRFIzAnLywN/RWz+x7V7xf27qJ"
    "YdX1eJdoOi0zbTES+OMbUhNkEjvj1R14yLUZltsaii07t9gioQJx2l5Dz2HH1THjtXYpDN"
    "ZuqN9YkNIQ5e6nsE+iUDCH6wsuZAKm3kJBhe6k3gKh97Hm9P6CrbOJ11gUNPk5tGU27vQg"
    "o69VyeSP1W3UBY7uapYNqla2GvSCoOEy9GeIBfbiOfa8VoNclDSj3PtRZs7CyHMItNuPt6"
    "APM/J9HnkKAT33x57wtpyZ+j4MdcaQmIY+EtwCrDwEealunHVfiRG2wVUnWGc6cClpz3aq"
    "X55rSE+GWtYe7C6oZWXG5KZpDHVjSxYmKItQ2zROEgaLW9qNThBVHcGlHa0K2Z2LHgh9kX"
    "yU79JeBrWRyT7H+f1b5gHeyLN+405J5Np8Dgq86vnLoyaPOo4bTrJnolu2Z8lT/Wta6iMu"
    "52kSSfbTc11TbLXe65cJaOjw20oqPmQxC/bvSoUIy2I6Efo6y7TvIwvhZ2Vsy2Ia6b6dQe"
    "uSUJ2DmhPSab7u2KBgyu71w5zAZnMHKm1yOvtEpNKm9m0kZM/DuUfflIDbYgm4fYee5Wdz"
    "vSqSTvb1qgibN9IJb5bIt+bQDb8JQJo0hyXVJELyLU+TeXJxzhJYXp/S19Pz88O3ID1Y8X"
    "LiwYiJuiA9EYjS3Ozmpob42+NNYtSgPg2D+Eu8uCLMDiiTMoXJTuoLk51UCpOJ9+GGlJpE"
    "SJgcYp7HUp2D42MJbGmr+koH7NqQ+XiGmvW2E0JepgKrD3tJ1NA3+kzfSJ/R6auySlkR1c"
    "hMsmONPj1CKo9BSdDo9q2HIFu1WjwJVVnzKHRkY0kneAfmgI+5rgb2SMjaBErLgQQ9Y7WI"
    "d4Dwz4GUQ7dn81wW3Mp+V4CXfgvw6efb24O6VcXguwbf6ipaA7AM8aUDVkfJa67JkrHVzN"
    "c3rhVNa8t35q6OpDJP4UxA0gL4C4umhyBJgQCmyKLfgJvcppfM5HZ6cnH4ljZI10n6B6vK"
    "N6IfrUrpIB8QHyQULPb/bDYCLzicc0E3JH7VCrjLGwvTaOUyZAQW8dBkgV5NIq3+HHFGDR"
    "ZCU6lzm/V2jHFwi8bB1VqjAHFBSMNJfCUD9FU9zlfGBmtssMY21xPDUHzyamGZy4kZ9Adp"
    "GTUj8Db2RrdK+GnCB02+z6EOQINF2uSi7DYXpWi13621v2fLzPaM/SYMU55dqRrnGp/3Oo"
    "D2NqnirS+2haOxhBPF+Kg691HthxucTW2BcyA/7SVcA2mte2lqcCrAjPJXWdl6bpSP6JRI"
    "7ew+sljkpg1+j6CDZ9iKjfGP0fj45Ixet5Afrj4mPhWADgjmxKv4BHZwz0fXRwGdaAF4k/"
    "MtvMxJgEAAHRQA6CNA3OQWh4ZJ3PeD56jBT2BKx2cm1lMZEvFpPYn4tEIiLjx7E1WXjFha"
    "Q+C7d9CsVjc0UZ3hIlntHDfdhxwXYCOtAScGbmW4cRBEotwZcpCvpA3sa2GfYsHUfkB/1J"
    "xVkuYaANvkAvvwj4eC96uSJTvzgN3effopbV5OnV0EGgcTevjGz4KluzFJdkFuhzmy05Oj"
    "SZFt3MEDcgcbV9i+XTFMaVdGPydk8jgOOSigZ49At24CGU41s9uizVnVeRKwHpAXnSxJbT"
    "sHu4sNsUoKASp4BPq2HSuw0IvLbBU4xeyCknb+fq2uss90bk/Zem7BW2Q/If+DG/qvB0K7"
    "/eryqMl07/CGE7qG+Fg2o8c9CkMHsXUHxOLMkn6J7FP6Or2+ZMT62fFjdGWPGb0eL5cRv9"
    "0IBHQTQDZIbnYE6L4AEM/MwfMy8gQb6VUQREsQkor9fpc3f3RZscDJDLngW+CjWeSy/Pfs"
    "7RsLBvNvrSgIif3KSgr6qQz4X+STwyNAW0Yeo9OCJVzQHhG05oCdPenvAPG8lrT7/3oALZ"
    "6wJH6Y2BAl7+lcM+kZ++kVKA+ZrF2pLGeM1RLG6tzzoDTli3JGA2urgZlQmS26wOCSz9EZ"
    "ElW7a5rcBTnDNGw9u7OdXGWKF4S6mef73VULs/xaZgm/rl/Cr6v+xkEZT019wU5sp32pwb"
    "LnAd5j/RsWkN9yAHKiWzo56T8IsU7ZIrNNTswcWzuyX9fUz1A2XreuoLHfJ0DWyiVRQkO8"
    "znQFrWTqj36tL2ro5tZWCYjj5aADeL9kHQ1r+ZDPZZNbN3uVn/kWP6PPEXMJBehAZM/NXx"
    "81GnRpy4mXNJU06P7s4jAAEEyjV+SDOaHfGMx8sgTERSDE6FvsgjeeAy1kj4BLQmCxeeQ4"
    "yD58y82mHvK/jYUdvMQs5zKFP5xXM7Js9U7iFCwYxeXeuVRmMjW86j7sxqMGC2o2XkpjkJ"
    "cyNo/WB9PfI+iGWKk8S15kd8gfbxf2zgqz8GVIPVo4J2Vmc2exwumWsGlMIN1qHzC6keFM"
    "9G0gpGOFczNQHCm8vwPTF0KWdYclfm39QcmnzeSD1XI54ejBg8ly5/PF7OwxujiD9mN0fT"
    "47OxwBwqWg47wCP3JZqNcUzaEzA2SWTzdHfH6mWSXUA1N6aBNVs9jlrU0kWo+XtaYTE919"
    "HSVncyagoSOu+8gFClD8KKlAXBDaYRRDgOJbDtGdn3xhiuJyiWPa3tRTOInWyptjaflYao"
    "JETJBIb9ZvfR2dJkhk3wYN8uK2cTXnpIz+3ZmjjaHagf7dlkw+ENU7P/mkUh2Z8Js9hN8k"
    "gSUbxpQwk0USV6LRjN5qVYM8ZDVGoByia+xA+VGUMQUF1hzZkYNsMPUJtC0YhGV7zPnlKa"
    "R/T8cnh0fgJgxAbL8B7HsCHCQxACAg4J2DXyMXWNBxGDQBmNFxBDgUGYJ2d2NjBurx7jpq"
    "MAP1/LCp64AYO9yuEreQZ8VcLamABllEStEGUtUjThuqR5yKqkckW0wLI0VZVj869kCsEi"
    "lIjWaJYRTBzubUUO3Z8flLOY1aSUy7IJJt7AztHAbGUbDWUUDRgNiftKOxCISNJbPt6ZIu"
    "wX47D0JR0lQA7/PWjHiqAfUxzsvtZITN2WuTARYlT68/EeRltNNluj93OTAIJ8kpCj0jN2"
    "zxPNX1YVbPPj9cv0ckhBMfhZHvItFhpYnbUBXeIcEh+2SwDIdn5KdGd8njd07CHLwNYcQQ"
    "RijEnt1y1IuSZtT7MuqCfauSpDDP8lZWsgXChrLSWstmDHv1uPyVkIG+K7aQn0RydBCskw"
    "aFDGwYpMObV9NPgi+UXy86wFdzMpZgdd2ANMQtoR1QhnSLPlMjDK3wnOGnyG/KgZymqVVi"
    "Yv246nWQqrwY3nYUqxSLZqZVDjE5wtUkN3LreVdJ9zyUzQXcGgaSjkbAIh6m73k2gS/Ixg"
    "F4mSMX4JA1DBhJ6nx6jR6ji/PZBXu9PKavpxeIVXQ7uR6DPHEqf/2wSsPa4/cwrKwen2JG"
    "oJ6V9YzRS1IYUdYsspIwZpHy+dxDcDFRx7QsZoAV5oVTgXQlYMAsg8mzkaiAuRIwYFbqvL"
    "DcQQpYZu0NlGUon5bP6gmFc0LaILpjq1KWzWqiOpkFktoMQne+EuImviRV/ldJzkBbPW/5"
    "E88ndmQJPBJ/vb/7VHfeKoiV3RHYCsGfwMHB1vA9+I9Z5FpxgpMIOyF2gyN2v/862BLwDa"
    "gymAqeiEqZx3JFx1HRxcA6KJd5DELit2SD5QQ19BMN1y8kIGon1hJVFb4oZwrdbeKRUMlz"
    "VRm56rApFs7aMEB0EPWzirNVItvY5vGj3KL/gfG6Duosm7kmo/VmzRxTTDaY1E3jML1oSr"
    "em+V+S/yc2S4qaBmeOQLxgA0LnCXizQK8sBvQVsHyqFNmQ3vAQTNGMtmG2RhwA+lUdjGxB"
    "FOku7mgMlT1e3EYNhsqY5ahY7qQgpF2kysmFTJgdbdVATq2E2UErFG4MTbXBalxXOsSJ6h"
    "12tV/e/Lbjrui6rwxzXkY7Lnv3ELflr3fMWe/bGmKUvE6UvJ7xF/aUIiwKLaK2iOVEtFvD"
    "uq9k6CMLUSWpjbGqJKrhSjZQWnMdmX0j80m3Sn5MkqtR7zMG3RrFfsXYk0kPdf+3n0FAHB"
    "tgF8CUGgRgSN+w3oDnY6pSv+BwTj/h8Ua0Eb0aYBvFzKEAxTOV6eDWQpQJaiv3EJZQydmw"
    "gkVk6qf0afuq1+MTt4vycaIoZ3jsrc8Te83D1TcNdC8jENfCYuuggjO4KKTT/O/MGcx3Ew"
    "VIs/YGTWER0CXtm91RHtGCjEFVlCaFOIJlt16JTpob5oeI+RFXVeMV9xQwFUjuDt7zgcC7"
    "35xV/TT8dLgI+CoTNm1uFgFTJ6QW2t1k0ajPXdJwJqjNWGJmsMmj8dWYHnviU+ndKO8nW+"
    "EiUgc/kzHAb8ZZlOAhtkqkoF+pilELLmJpnneA7X3ci66YZs/1BqkTCqXtS2uKYvaEz0lX"
    "GkG+9YoraQ6Mzz6ZYQ6N0K1WbjZa62DLJ9hoVZGXRdafodNpXAbl8C2wceA58BUwDwmArs"
    "0L3jrYXYCQsL+xDzh2CAEfWcS349j8iwv6enZ+Rfu5ujhlr2dXghwAu7654dP2eOMdNfjh"
    "kpmgTJAry2nI+eyeYgKf6TAoFQdZSejH4NlGdZApJirwJs21w/ZcCtvzBmzPq9gmO4Kywl"
    "SUM3WbWuqq2LWiKT83TqbJsVDF1FmVNnmDTWVkY6AziW6/qlEXcN0riW6joEWC25yQiWTe"
    "fSRzFIjyhCqGMbfNEjqI+OXcBN128HJWoVlgf8lXb643uqQkQ/mStyz9DDd0nJ+fscyF49"
    "PLw7cAgjmhP3zOmMjs2sm1lVxjqRCJx4aZ0ZHZtbPjq8fobHZOW1xen6JDQHyA3BD5no8D"
    "3uRsdnzCLCknUGhy2ct3MJaXHi9uowbLi6rFRWNLS/cBiQv6u1TATdvrF0+7jcjlIdTl9J"
    "BrJwzUIYLMUljQLU/ZLluW08601b1VNoXMo0C1wjoT1A7ssYwZcVxvRRxXjIgOthA9g1PV"
    "SwXpopR2MHe//4XkRSl5R9p+d+vzUFeLZ0x/95PSOpET0W7qdg8wDiYeIf4kU5pULd0ieW"
    "PrVrB1579cBfsH9EeNelgS02CqN9k0P/zjoQB3JVtmZtK8vfv0U9q8nEKzTKvmyd/bpSAo"
    "iJoCoP2xL1fdCj76F6LnRh/BQC3HVkVQg4dsB55r47yrR3+YbhzjvPsaR13GecezfFptEh"
    "uUJTUKWdx1riovhmgyfZ0w21+bGJf6Psy4tB2X7JBIMVWuHlqRNePQUfSLYKpXx0Y9WmPV"
    "07DGRNahXb9CFPzb9OuATz/f3h6It4kOkJakDQwU5vK2KAFubq0w8K4ri1tZV2sAlgk/Wr"
    "E8NwxAusk60gf5oh+C6tGRLyx/phSolXSjK0os9okVbu4gnk2yvPUQYeJFBicOdjeN+7tj"
    "Hd1id4g6pRRSSfq+DWH6vKrZpCNIS7Sc0vn05KcEuPZIfSEO+smHQzya7yWI9CN2UBAyd7"
    "6IuphdHDVxF/m3pb9sskzbS7MYMwkAA1a1ZE7vQgfNpiLYD8K0WBn4M3kfQAdlb/KVq7MP"
    "WVnEJXHDuYiwuO3bCfO1JuFA7DpnXZmErb3RUUegnq7YN0bdHumKYxm6xrierjGu0DWIZU"
    "V+u0J5JVENjdXDNU5XfRLs8aqOcH2FyrR9P0pTsttqU5oyTmzQNt9/XlTDZ26gDiIZt+Ae"
    "w5h7N8p9sH7nzoMbGgofVj0NbCBkjYXFOSgRxrWzUhbccnEgUJriC6MmhYmbT6R1JJ6z95"
    "sAcKkj8JGqL6+sysQMud8BEvnxBfr4s5qPvyB6Qg3BZ/jKJKJwQru3GY9YpA512LNQ8+H9"
    "s6vYRkuPhMi1XnlVQqMC9WahGjWoQOnwq6hBeRntKk92T/4dVGzRxIOvy6Ty7hC1zlnkzL"
    "CT/gJZwItSGqr33Qdz0cMpPb8KpnW94pcT2Uj366dRd2dK3hMhdjChG7javlkQ0yZb9a6T"
    "686x57FlUhn+sqQZgXYjEJIQOurwF8QM9u2w9yC21aHPSxnk27IcZ5HLrHPK6JclzQi0nf"
    "v8XDxZUuWXKHmNqpLaRbhsISEDiXxREbkGpSmTMPCuhTfv6Fa2GguETQbMlstKPqV1q4Eo"
    "CZuBaJuKtGS/VFh5BKKtlqCe6bXbzufgI/ozg3Ayh8FcBe6ynHbLffdQu3R2qkCcttcO2r"
    "FUKO64IRR3PPRQ3J0u5fq63E0krm6jLiA7VWjM6A8P095ajHpR0uSy6M8gV59tbrFSH+Kc"
    "2E7Gdw8ZebUYXotRbhyn3Y5dkjUPcv9HukVSmoqgdifh7pUMiyw9xtxq9ViVZM1j1efHCg"
    "YBDsJ2OReqsibnQlubFSffKY9AXspQfttTAVomgTGJX7ZCuc6IqLvJzNC3Z0CWbZ1/+Gtq"
    "wgomeQe4ap+6pSFdixjb3E64u3k7UHCrp4YNMopQ7e2JPgTIpd9t46rGvK8PtKtXjVaNos"
    "3rGW0cs88jJj48o0GeLyTTiphMGWszZcRMmE0zZawY6jqCFBO2Ns2RwTvRCSKlQK9yPACn"
    "9k9CGCzqYU3rqq0H98dVnw9Jl3rsusWHFVuLyOsCr89ZT5rA1CaOMN786oIJs61xTUThZL"
    "UZr48rpIMD4lAiwArPPSFAZgC6ccgfeMMTo9jfEtd5PXwLXuYELMkzslnSlJlPlvQT5CMQ"
    "kviPEZW06Z+v1SjDLd7HVILrsTY+AvVxhWxkJ+qRbyUx7azuJ+MrGSrn+Kqey8mulUMiWi"
    "BdENIw4q370EK61hJ1a2teyhj72hpbTY6ZdaeUnYUfDovtZohP631+MnS3+PSpnPA+J7Ut"
    "V5OeZ6sGTwdJs49saDHOspgMawxkTcb5ude7rDLcylenDKYmwHW6YGZylFMF7//2M8v8ki"
    "pmI/CCwzmgahXwfGxRobRAOdfAWOvAhV4wJ/SDkGp2yFqQKBSrfx32bVS+Hi9LowaVL8ms"
    "qlzetyynoTLSPdkqWESTwEOWCtB5GQ1B3kLZzqViVdRMQDvDxalU4MxpQ+DMaTVwhv5Qlp"
    "AZiwJ9axftopBOBKbxydnl2dXpxVm2bGefNK3WVW3594jutDgU0ApqUc2LGEwFmMIliURJ"
    "pRptP5mMTpDuK/XF70oTuiymTd6Lzma0ySmy76lNEbUnVC3CIvyb6oEXBU0hcIVC4BZZLn"
    "GcumIq8G7XzvmKnDaTvrMFJdXxlc2EJUGzWbZeUYyZdn/Yp3YMVfSLcmbyt4/IWETq0RiZ"
    "jAHeOCh65qAQba4d4Pox19XA5rcstqUThUQ0hreqv7chvPpV8iujW9yxZMKIFlEHwN7HvW"
    "gK6monqgG036EtPaMpdcMjV3Ttfoa+hZwDgV83uTJqcup6vI10zRAKPE9EAWI58OYxOj89"
    "Pn+Mrq5m14dH4CYMgEcCzKlI9N9vPolC9Bt3wP62JM8Uvd9AAF8T/i0OAQ6+A+gZ+a8Jjb"
    "fi6d3FTR9dqmmjIKYGQxBY0OXSOABPEWQVqsD0FfxGJZgu/ht4QygmVDMPsQUcYi0OjRO5"
    "70fHUYMTmU8wFZdbJqBdJZLuGawDqURC12KUfpWt5wOUSgfYkA2wjLGNfWSJY6brYS4I7d"
    "B3PCM+2/V2g7UM872e915hvfOdpQpyPSc4E+gHKZjdTxtScLrnKxjU8yLGll6xpfOzkqJb"
    "aCVkXEIKLqHkLKkwd3MSZuqW4XyhWv08nAgmby2eeRGd7LCdYWo8xbtfFjxCkaNquspBLi"
    "+jHQew4wOcRSIfI3/Ccv9BVynjvkBUO7S7p7Myk9KClSBTK/dZEtMO6DMZHfCsXgc8q+iA"
    "Pgoj322RdrQiqB3Y3TPhY3NBq3TNOUENoxEHEn2YYtIYfmjjwIOhNW810BVhk122z2M9wy"
    "4O2o10SdSMc5/H2XDVDvbHVYv3vhb5m8uSJqdF2zFg6ciU4c8JmdnfEV9NnBdOmZ6inhau"
    "Z4Mhy1TJzUEJ7o9hA27GBqyhq6XLcAfI6p06uLxhbZA42PPJEgeb8qp+QKxup//6Oe5tuJ"
    "rl1hPixqwpnTPidpFb+d6CrnaplbdP06tLwVKcdOvoegpJWOpBMWy1Hh8cR6CerWYC7bt3"
    "dSbPlbpemhPTCVgTRPV1AM+1KrabtLMJ5CTNIHRlGfAy2v6mMUFZRwMbBnktK7f8ro9my6"
    "ZsB9gyY4tmOkIZ3fITbkKu9h1ytV39JC5wIlROstonTZrJqsyKXGpIGIZo6YUsCT/dVhxk"
    "hVkqx28CsCQuen0LIPgFvZ/DEHg+ordI0/v/9f7d5xv6Bnx693Dz9w+H7E8LBnOW2JHnYK"
    "4ki9za3R7dpAgX7TdyQ+QfgbvIByQKJxQEG01cwuKI4mn6XXIDekt60Q2glZTvot+LAEIf"
    "C8AKOptwor7v36MGBW1Jx4sIRqCegrOS0DBF4smFBPvmpOwUzhUfuCizb/LPlgrMZTntor"
    "e6p+/F2eTUs3UV5Yxy0F41HkT4XJJl/2CgC0q83Qt14KYUwjkhw5ksgSwq1U4X3shXCrTN"
    "y2gH8fhcZiLTVvWRoOeVqVw8VqpgXZVshXjZY9uj7bH7OW3K8+xvZxxWTZidznp9S8Iw7b"
    "gV7R4bfu4Q+LmWQ4J2z3Re0Ixxn8fYgUE4oaj6uNVIC8TNePd5vA3nfn+HpMQ2re5dL8iZ"
    "Q2pHvl3DS94GLzmZrF24Hlc9DWt2S3sfC8/1Bkkf43IMG7JIv/BO9EF7ywxS7mH9REI8wx"
    "ZMvnOdt7bQbCThuaXb90pC0o37gedQTHym9MYg3weAAfCRhTCru/6GzsLDEVig1ziXIqvS"
    "N2cuVDIDOAzAlNivbwG26Reh4k7Fhbu1Oz26PuJ5S4HDMj7yDJII+OSFdpR0OeGO3cO4SD"
    "zrjkQhyxfJckoG4IV9oxcEbGzHBQixKSnY+y161OC+XWBXyW6attfQddtx8hX26E3Ys6gC"
    "b0FIO49t9yZphlcV3wf0R83ikbbXYvo2qc0f/vFQ0JgrKQgzrfn27tNPafNyXsI+MxFkPL"
    "VD9R7u3a/VZ09i93CzCRof8VvM7IKgAXst2PRsS8+ySHTqa0qzlxczSfYUkuwl53fFaZ2K"
    "7HBCpxrIbiZ29+wx5PtEYO6qhzkT0G7VGEvVMh431DIeV2sZFzXUKtC1GmNVcHcUvZNt4d"
    "11+lPDL/j6+AXcuZg9HS2dkyV5453sm3ey4qHZU8wNthZfkEX8ovmvenXUZL+drVIATTwq"
    "I13MhzXmtW7egpc5tuZgyhIWsvI6F+PLa/o6HZ8cMrMpBPd/+xm80BsAOgMIfc9iwwCLDR"
    "sxE+vLnCzBYzQ+PjkDM+Kz0BYLwSmmJ7DXo4opd5c3NkbYgRph+YxQMhOmAlrYsbatcZoc"
    "Et2fFwMS+ZaSUrmS2KG6Az28G42n68ztgzqO73Ym63seNwT7Xe/JxWRqytCblCBboI2ZpB"
    "Wy/Ka6fBXChCB8megAV71zWeYXU+U8lttWnyPvoEZ1pldGjbQn3kYhX0UskOSEyOhGMOSs"
    "ooRXdwR+Ix5yeTme31jaB0YXYm+Yousg/jbph15kTSvq8fZu9egyAhMbMQBnIfJHICC8WT"
    "wjAZ+HYAkXKKCaNu8quQKXxH3iTZObfxP3mNyAvqGHjzqF+9c8PzP7ygf/LCnihWarGOa8"
    "LY1KFFqt+jEafO80+JjDq+g8zsloqMd372CbRq8tQivyUia0onX8qWKZtt2XaBsqT3C1Sa"
    "isHXmhTiLXdYZ4GGlFmF3jdTfWqu6TimzgRezegdizFXsgFiqp8EabTlKudrYoElYUNePc"
    "53H20ZKB6AeTAInINvdL6DgNjJuytDZFnE/HlxfZSYu9aTpb3X98d3srsDXGvAmO0Qa8i4"
    "K84V30+XGKA7joYL0gaw7DFmMu7sGM+iBGPVgGmwz5StyMd5/HmxkI6XBFXpukPSXZnYy0"
    "OR21G2gejPA6Uc99WxHUjvrdseoe1+tuqVcWRM3S2ecnKslopV7QvSKo3RPVPSEus7i0qE"
    "5blTWck7ZG9T3mK+qdiX0vA5AGFbZ5EKqy5kFoOw59SZr2lXiyG8hX+8gu1be1qNP0UjX7"
    "bgcA603Eqp4zauhYNeu5AXgNwNX9qwO+29rkf3cueiD0RXIIWqf+2+tKLjsEEpn/GgiEZS"
    "V5wsLFBDtoIp0iL1EUmvPcvvBO9Zn//25FuExQqKVdrlBaR76cxKMkHbAYN49jAN88RtfH"
    "x8eP0fmFjQ7j6L85Ag55wkGIrQAE2EZvWY2vyE0KfiEbxBUDwRNBAWBziJUDY2J0NqA5iQ"
    "IkClfcxW0f3Qf6nhOzvmHJ7FgCFcbb9BGdQQHrI5z7JHqaxwno2FOSNfNgOI9rh71JMq9k"
    "UhMYHppAyL4fPkdgHY1y/3rA18jwGwZJykOuzbDbFvRbp0mp2jf3YtjMLefDtXFWNgd1B4"
    "KwC+NI6LMjIRk0dbN2TswY8tpuIgmMyqmwynLaOXG2khFrWFHiJmlTJ0Hixmm05zUuUedV"
    "8S+IGXeFcVf00l3RztjrZSHIG1l7V5HMg3oSZAegsAKo23tV7Zc+sSNuYqyaLpNLo0arZd"
    "xIPsFa3B68uf/88+ER+DsO8JRFZhPAgImWzIbHIqfByxyxuhOTANLLLEibxXnTy9YcstRn"
    "AWDpq5+Fxsmt3GO9tfDXg+f4Tqy5RaflE/FTpwl95ZHauRaCj5bYnXg+tuqus+8Z1Fwr3X"
    "BdV6XmlZ5TFNLrmRFH9LWLbVkLYzntpeWU/1/Bv17hSttrGJ/bvS0piKYhDh21dGc5Ge20"
    "2ZOxDM2Xtqo3jY4rVN/8N6sAXV/SoySmAdZNyuo26nrgJT1BCCz/f72/+1SzdmcSZdMBpr"
    "vzn8DBwdb0yYP/mEUuL3ABphF2QuwGR+x+/7WH4WAINQ9HGflR0R7AOqiUWfHxE93jQ/Ki"
    "5CgoielWZKX7dCIJYM+Y/vwntewLFUkNVp2tZ2/xoVqpsUxAt6ncvVtxGL5b24ezcKgQF9"
    "SuIsq1Kk5BRpsI+O5yCKeqqSScWXsD5bDLd+xWOdTXFRR5dstRL0qaUe/LqAsoDsm3zxnb"
    "oynVd+atxr0sa7gs/Rno6vOds8SW7KqNlfJWUqZQnkKhvABB35pPQvSH4LGqtz+VxDTQBH"
    "dtf/LRv5AVtoj9rghqAH5RjzmXog2dN9CGzqu0oRAukE1e3BaIC0QN5rKYuxMOnfquXRE2"
    "23aft+2Eo06fEbYVix6wxv1bJG42coWNvOQBl3dJlwQNR641R65EHJAfgpKgGYKumHIpsN"
    "XhUKbKfcx1NbChkKVqlaahRGx/unZ0gO/7XFea4ltaaZXJiDnckc+yJFqc2yiwJqfhzz/+"
    "bX3g8/t8XxqhL8i1whIxb4gWj83XrMJSSS99xuhlQ5QSruUX3peuSAULkfdRBab7RaQTOF"
    "WydOfE3mRG1dN7V1NuLcl3kpvqcvWhgmi6xAFTT+LSxSkzl+UIiDtj2QPOz88u6OuZdUJf"
    "p5C+XlydXh2+pQIz7AchJwpRgAGVgoDtuE+czQsZefdb5u87KI3DTm/+6CY9HwGWsCBwoR"
    "fMCecPv8xhyLMTxPdDtAuPNn5GwXe0s1R1+yYoCNEmDkY27T5pDZ1Hd1XAiqX1TruxwTPy"
    "+S+kp4VXxmoG7BtJE5artN50qA2VtwcH9RGop/IusBpPJm2vIZX362DKCCydA09zkC56VZ"
    "zrOaV5mX6wStlttWGVDiTzxIBN/IaDU4/+MNkYMhyc5PzXLr9IQdQ4dfrs1DEW7b07FYoa"
    "jELkfUHODEDrAcgWrFZ548uyJstO23Hg9o8wbDcQAmEzEh052bxVYP2GPqBciP7AlibpbA"
    "iFVbngAXr/7v79ux8+HAg3YOPA3NSBKYQ3vyx0ALHeubMFa6hEdvLcFmgQXpv+vXxc6CA7"
    "eXc+mC/Igo5zIHC+JFdGTV4X5l9BE5+3lM6vMoWhNQexEHdvnCIrzcxsIwvbyAbTV+5IsE"
    "jkhq+AzGbYon294HDOnRLMnvMdIC4CHvLjDkVZVrZ4J5OZuccHm1GDU2IY5sOdOSa2YkDs"
    "o2+iGsUbZ07akWdCJgr9pD4K/aQShW6MtPXQ62uktcjSY0eHVuNekjVm2j6badkJxKYnSc"
    "FWVe96LAgZ32Pnvsd06WxhraqIGltVW6shP4UrD0BeymSt7cZMuJrUxg6wjihefv6VzQD5"
    "U4AbwiSjaXumaqzgv4/7GuAxT4GzWlo7qrgp5vf9Pu1lUEuG7FTNr5Rbz+5bnIW1dqjcNJ"
    "UzR03yD4kcFZgHFICQEWLToo3cNsTxeMsz76alvlwSYgsFWUbeuFRY8A0IQuKBNzGf1iM+"
    "7Ym8HFZtU9u/ncBA9euBn9n0slJT/zRmq75stKMGs1V/C4p9DQdO9hiqHzhzUgb81uDTXy"
    "866dTCnrU3ydXKUL4gay6yG9XbZVcSunLGZfI/12d/ruR+DpZqdu+l1oT8jsFNjj0qAOdE"
    "dgiyS9wdORY6RhiGIVp6SuttXsQsueUll4XCqVeRK0ppF7WwlRpyPoJWu1yCRUnjFumzW8"
    "RkCq1/xobp9hQMuyCBATfpqFO1c2JGBevK6r+yIm1o8V9RzAY2DPLkv9wEFFNX90X7Y2Vq"
    "D4TmVn5l1GRnjYvcShP+4uaMgHd9fHz8GF1MT9EhS3gQkCUCPIFLnLrgZU6cxC76XSJFVw"
    "SWcOAXRA9L4Te0XcRyPCRXRJy/7d3s0WUB6v/Jfu/rW26pZUvWEobYSu8aJ3GAr0vkhrFl"
    "F/o+N+yyjA4sH8PK5muRyLGZZRewrIgAh4ZX2Pc1cdRgoM3mico5vyDUzTF/v0Ox5dIr/c"
    "8oEZvch6n7LxkHejJDojyfDetIUc4cs1pbumtSmdXTvTKBflC9tCpeNgwOs49o24D1uZMV"
    "p/sEK8Og4w/bLpZMESFLq1l9LkoaxmLblT0JNlIegaKcwX9T/NWthkVJYxvuj5GwahvmF9"
    "O0g4IHrSlXfUXWJKpXSFRPBzEk1kIR85yUQVsB7ZiUkVqmRGafdYSOoqx256juC6cre3CN"
    "81bpkDqsaMadmtSG6dWTCWZcJZ9QH/ayrDmZ9flkFkSWhVC7E3hZ1ox0n0e6vzx1XV1SeX"
    "okdzyqpxUsyBkrQ0c0icwTtCFL4i7tZ1jPgCxHIv/sS5QnSiZrB7h+XvU0rNktnZiu8Fxv"
    "UJrIQfYTHSPal483LbZzy/v6QLuSKQs1EOS3WiblC3HQTz50xdGR2cVRI2OHNps8sXbyrB"
    "1Gj5nTb8hSZEEQBcgfAcIbQMd5BVPCGC+szAir7ME9gZxXkybsE5JzuuhTGNkYJcHjgUU8"
    "NFmgVxPY2J9NcgQaeDN0Sii5/5L2Gubi6p4vg4PJHEFVW3hOythlVequZ2uPwnwuCGk4qa"
    "9krIVX9cbCq4HbCk0IQDfGQn54aZd6qSJqVNy2Joa9Fo8wI/A2ZpnRL6qeLb8gZ/Bviz9T"
    "NJTBzwkZfmxX9rVU5dvQDCSZdqxvQyBrBMpNPYnc+WFmvdkQ1ftQtvZ0z1YVWVyL62lfqz"
    "4MFFzlog+rI97uVoSBYls5DfeqHsG9Bd0Pz0hs7FxdHDUZOwPabIJYO4Xkb7SJG8yQD5g0"
    "Cx+8ml1Y7NU+pq/TKX09n52fs6rLHsuh8i2hatZ3vDXT3sESLlDAowID+qXjXsIXbCFePI"
    "B/G3EauF3dWKbYcpwthbU2ZZV7azHtfxDczoxLYzkqWgMTrWxcsrGPLPEZqB7hgtAOCX8z"
    "4rMV92AnWHedKItEvqVk+V9J7BBi6OFhwptsD2qm6JWMdsHI1zKha9f1oWvXldA1tkBX4a"
    "2P1kzb9yNYU6u8/OquAG1dAAMx+csF9FghUTe25aWMnbM9mZCpAi24hDkxY+s0Zv4B4d9g"
    "a14pxhuTDtOOBvYYyJMOcwuAsTjvxuIspsryjdDYQ9fAmj8u9MwU6iPkPpAFcg+ExtDV5V"
    "GjOZTOm2AS8OaTkLVXyNwGY3sj4HI8ixm3NCL/mVkYLUYJRt8EYIqfQHwHXmf1enxJX62z"
    "2eERYHQUXrTi/r/ffTs+v2AZ1gIKObLF6du2fkeTYq3He/CowfDJ/6/gX2/PSNtraPjsPs"
    "KZP26TOQwE1ZHqIS5KaWc06h7mpoppcuUDzbl+E73KkEfrB0Rf8qiPnulC1S43fF7SxB73"
    "2VzIqyZEQatxLsuake7bSFesM3vSylAQUOR/xPxXV7Wy3OXRmlqF2KXjNQliCXp/B8kqZi"
    "6AvjXHzwgwKa4AXc6uGV0E2o/RxdXFKXs9uzqMM1Int3gLPAe64M+knCD9I3hlszUK6J9L"
    "OpF9DB32qYPpDekf3pyEBPxZVdN2e/9H95l+QI7AA6uO+BrSaw67N3a5arhENoZcwaMj9h"
    "39iKp7PnkBC4S8mBjjoxnykWsho//1/6w2HOLL/vSS7vOw8odIlTBQENJQyz6VSnV12pDq"
    "6rSa6iryBX6EeoyT5tqlETuXwva8AdvzKrZsN1K1EuVltEN5O8naiBuyvBIcJgWky3LaoX"
    "0ihfZJA9onVbQD/L8ClBt9wImENtX4jI2oN/ujvjaiVA9TZlwU5AzlpX1kpecQaLcL8a7K"
    "GhN5R9SXZH5Xx0OZR/CQmDzuVz0O7MGQpmoU1oT1LJjc9O0AZ735GtVHvV+sjXjob5EVRj"
    "63LtXZCLMmIyU7oZOIydkK6+EXptHKPezpfUwirf4s06MG61g6Xsp7Z0nQnGDak3bNEdIc"
    "XXo6INs6uji5XWxDkPMboqboltZa5ZysWz250MG6EVNN4yuS5xTaGMtSTFkAPBP4FnMa5+"
    "X0Ej1G5+PT40PgsUK5rFOE+N/JxAR2Wn03HnuwwpzxPNmFpwjyHAdIHHC/5futO1cl9+Bf"
    "DZo0pT3aSZpOV2yoKvAzY2BdrKfIJ1awAA53lROhyix4FZci/fFKDtuVhIbOxI4DvE3hTF"
    "OTyLgBRsYNoMfOm/d3PrntnABlSeMCaDsGyRlVeQSKcuYhMIaM4RgycnpZFxijIe7rstgW"
    "n3OJKO90ZTberXWztrSH9cu3tYgOROYh+vGoMQJ5EUmHHAcoHkLwDH3MSr4AXiQY/OfqCj"
    "26fQfoiQ/5z8imF9KCMrySVMDY5eAVhSCYY88TRxlv5yZSGRZ9YkdWmtgUBxMKB35GJtli"
    "T+0+gYcsFSU7ba+hAaP78jSej0UpAOuTC6XtdTpZjk/OLs+uTi/OsnmdfdI0nauHdpZBbq"
    "IKaVHI4CpMxSQsbd+Qgklc1H64/NvOoEz3UwU08yIG0DKgL/TsPA8nTwqA5kUMoBXuN6GN"
    "rDntX3DqaiqaVhQ0ddMU6qatTsFqkBfkdoh4egoeLOABdERlXOt3tLS9WS96HCvSM4uHxj"
    "6iohIvr5oX5XQ6bO85O2eMawfGxc+rngY2ELIGxuIcFJtu662LuYUP+rSTEC03rAf+nvZz"
    "Q7vRCPKSVv6MJiFGCSWuPVC3tKMHjG508tkUkOKW1YmD3U1LzN+xjm5pPzohtVW7fgjDHy"
    "DmW3XVup9dHK3PMmpnDaWonzP8FPmIZ2shM16v6F2A4V/u59B9oqoUsOjB07Whz0iYPBUo"
    "a2LT45DLqZnP0IkQeIOOno5YixF4PAjJi/t4MKrY/Ld6t0f6wrKPXp7Q14vTM/o6PT9+jK"
    "7phvd4cHgEvqAXH4chcsHLnCo0zI/A89IQx4k88C8yBW8iL0B+CGLCKfh/ufv+P7BAr4cj"
    "EBAAgY++9SOXp9VxXx9d1pbOlWfkP7EiUGRVB4r+yuAIvOdnD7CkOhQFgvNas47f8qSqyP"
    "8LH7q/xF/myHsFP9AT0qf7m7tP9/WE1oTgmHXG3rBEIGU666/FJhnj1bg6eufqMBRXZYpr"
    "YW7LuogKQhr6icYySVPH9UlTx5WkqYppifRNSNR9Plr6u0V1DerBzQS0IxF3D27MFVDb01"
    "Yy2hjbdp1HwsWhIuiZiMG8HeZPy+fJDIl8Jg2o54QM7u1w99Escm116ItyBv2WNGkSQsHm"
    "2ciQTkUM5u0wnysv7nOztm+EuEWWXtTSx1UU1TASaiBerRST3mbVTop31dgfE2W52fpIGy"
    "mwjONyQokciwW/uDy2WSw4PHmMLqF9fRhHfVskcsPXpO4Qz3R9Op3RFghePkZnaMxkZtbp"
    "4QhAwMyBuZZn6OIkMQIWes9JAeIDWDFW9uz7sfzb9AF8Kn2d85P0NpWvdgT+XpQIANUaif"
    "vETJSF72Eycvd/K6g3GVr0SVQxHqTttSsU1D032hS72qbVCz0rWr1SAZNLfn0ueba8q4Cb"
    "tt8ZtjsyKHa/KCT7sAq4ORHtLLbdA0xPy/RALVAw6wHOiWgH8FbyajD6RhiJDg4/OgTWxa"
    "nkhEowz5iUBNA940c2eRrvfv7+9gP4/OXD+xvmhy+qivwi+2hF8f3y4d1tGWV62m4Bc17K"
    "4CyBM/EQT3s2J5HI1VO/blQEtVs9tlA9k7gh1ewnqofjspx2UHe/E6aQeRSoVlhngtqBPZ"
    "bbFBv2xEqNj9jcI1g//np/96kmKCMnUzasYisEfwIW27k1qP9jFrkWNwZNI+yE2A2O2P3+"
    "a1tD0AA5w6hgY02hfvPx3T/Ko/D+9u77svGUdfB9JeoThpHSgr6S2OGMXwVADVFTxMHEI8"
    "Sf1Oo16+K/ytIm7k4hDMzD1iLyJg6xWIXbyA2xwCbS7OCp6UK/aKah+3l6GrPWO8OjvkFr"
    "kWe3HPWipBn1voy64GGvBNV40Gcl95QjFfNiJo9iV3GKHFWBQUY1TDHnEx/WMEhHKebnn3"
    "KW/NwB07Wi6Yoa0D6m7CbrSB/Qy3Ys/osmS+Rbc+gKWVYKgH1MutEUruTgW8vwVg1X1Bqm"
    "DQH6zDsZ4LlCCiIfhZFPfzMMFp3g9IX3pytadGeczSZP/uYL1BfioJ98fVcoa44d2xcSwx"
    "VQ0u6kUXT3OsjfdB4lCL1jXen61CUWtk13ugSqhBs4RGKSFFpJduQNwZLPIj3EJ69c1rIL"
    "sJTSmg8FtB2wruOlq556nS1ta/nXk9WCup6FfU9YvR+WlgDaS+wGYBkFIXAIWQAYjgDPsw"
    "AzynFsYgZwFiIf+Mjjhkjw4jNScXzKBIxdGlTTPW/xPoa43GNDzAjUE5cX9Mer+PbS9vrR"
    "P7tnDizpGqxIUsyJaMhf3gqLjk3tKsT1dIG0fT+oAuy22lAFhuVP2+lSM0zHiow7jR7A6C"
    "UH2U+tRl4gbpzm/fGjrRnvFsXJxPLGtdY2KjnVOJSLxBXkTA7WrnybwcpQuDPnZt8GQta7"
    "WZyD68tnldaODjDWu4iWeK3tVymtkim03vqSt5auN8AULLUykfCpAEgqXcEwZwzhweX0Gg"
    "8WR6eP0ZU9tg/f0hYOKyIBoMVbgBl9tVmseHKgZQkuOf8bwFhvLoW3b/+mj+6UX05TYiZ9"
    "0ybQBfcf77kRhwknqTi5X4ml0pxhf8lsRfTDJfteWYw98hvKu6+WrIg9Waaoe2+2rFGDFa"
    "j/MdaDDR/hTx9djQQ2inp8C0LagdxxAfgYLHXNMy9nVM4+q5zDsisZxm43hqX4+WxhYSgJ"
    "GtNCW9NC+vS0GIOKqBkFY+AZ6AAwTUYZ/ZyQgd7Y1jo/2HVuW4sSS9huDGpDRTX3WK+HND"
    "2IGDvlGlRLJ7YaA6X4aGLAXQNu5SjWK/vvAwwWvESVwPCbXRs1WXxnkTPDjrNkcVIseGBV"
    "OUuu9hIPXQFMiBlJGbWN2U2BR3/ed/wts8smH9A/CVW2AHqmIk8+eRkBOnPZ3xFFQsC528"
    "YNDNmux6eXUYOZ9fcIuiEOBUtW7QDkRXQ6R3ZWdzZ+fia/K6FaFNImH3p3oMI2oEIDahOo"
    "pqL67jO7rEppKivwFdFtzWhd98Gc2r6I1K1XmYxO296u67Kw47Aq8jkhA31XlisGagea6o"
    "8rXech6XFgoyGrteZm4XpDy2qt7gDjjqsm73J5lwW3srfVZBYpLeJd2F3jXjSdtKtNa4NU"
    "LUw56SABwhdk0WHWCOytRoA+0KUcvWdVOUR2qOziqMkQxWxNaMKDIuWsT+8AF4kpeKyUDI"
    "Iz9np9/BhdXh2fJJVtpjC05t8EgBWLeRMgH0MHHPOKNIzjR8++S3oxvXBydOSyQtvQtcmS"
    "18rOvlCJe7izez+6FnRdEoIpAk8RCgJkg5lPliCmKBJmxKqnFPJvwM/5/CaGUtif886owd"
    "ZlKuJsLVls32J29xhR2jGVMFliKtjWa6mZgLF3VbR+uupPOGNcBdCCkAG1DOoM+0E44Sip"
    "syErwob22mfaqwPbD3VZ1ox0n0d65sAnppZUz6tNfoGclHEKKDgFDJ28frvSmE7O9Eh1Ln"
    "lOyljDu7KGZzr9htbE79N+BjYI0ry43OwTW8FlDIpsn9g8rZyFfqT9aAR2RVnpAqN72o9O"
    "GG3d5sonVZ3NNZ1x62yu2QyXsbnSfSXAVDyNZp4hHDIL6OX5Nav5PTu1HqPzY1YL/Pzken"
    "wIZsTPFxgnsxm20FsWPs3Mn7EBlU0fF7Eoa0IbhMhlFtKYr1Gyuu7w7o/uDPrfQg/6IfAc"
    "ilNAP2Tx5XNCP+FHlVqr68qWzZrQU0FA4TOm195srqMG02t/Tzq6jkU+iTl/UirI11tnVx"
    "Ia2me7N36bdH/rNnER1F9NZcBqiXNWXnZbiJcmu0zyiJP65BEnleQRFHziPLcyVZREjf2v"
    "z/Y/l4Rq+VeS9tqlBtlKhlhj76tHX197X7YAtsheUJU16Qtac5AzTVKdiVwWNRbYzvjIBf"
    "1+QzNsgR83sNGQ5iOX5+J6VnJuFekAZL2DlKsrbr+ilDPbbp2pMjX8rjNVZoZmueBk1hyQ"
    "GYCxpe8Fh3P6F/QDFJv0eOAwO3yANy4BLDvBCNA/PB9ZmLUhAWbdHYojkzvtfX1Y8q/Vp4"
    "ierP5pzIi9NCO2yOWu6zF5IMdiKV2TFSN1kYDk2MDNXYloaKPsmENqCQP8G8AVR/cPX5fv"
    "PpeqI1qSfnQIrNkPHOGCNGMCgz1JicD84e7n728/gM9fPry/ub9JLL3ZosMvso9WnKgvH9"
    "7dlrF1n9SwjdsbbCWwxd6EHplm+A+VdaEgpN3icCaz6p7VL7tnlXXX2BmMnaHHo9GxnWGf"
    "avAyuImLChzUKsOrJiMJlXgZTHCu+XoOjwuS9ryCAatgGXlxmYRj+BhdXZ1Zj9HlJbIZoQ"
    "adHI7AAnlhWuHA88kztpH/TQCScnsA26yqgo/oF8TPyH8FOODBiXHPVd15H1/AZP3q8Qo4"
    "atCjkzEW7kprK0GKN6ThR0VenEns/xdntfs/u1TKWcUqnqggnAloqNOO5dyoDV7UilpL3B"
    "CJQvmaQnozES0h3oareq9R0z3SD7onjkE3eEF+uxqVRVHDpemzfdNHFsJtOVMFUQ0N2Zrx"
    "PSqK597UIuwidCBWh/ildWoQdumwTcK4tUr6GNaeaR7n04sL+np2fnXIFIwZdtAR+Iz8gL"
    "jQAexw+hY84zj0gGcYTgrCFeIKYn8f/TTpWKD57OaeRtkZqLLT/0pyOzsgdu//GIKKszOi"
    "aNcKTkhelOI20va7Y7IP1W2XFDlVATcnot3U7R7gJ59EniAQoz4qZiXRj7gYdj9t4mJwMP"
    "EI8SdzEgVoThzVvB5CeZPhQyXDB72p0Fi1Js96JmXQVke7TXxFQdLYVfpsVzFRNPX7u15W"
    "lUJVOM9uOepFSTPqfRl1wcNeyYZiCr/2IXIqUYImbQvAiuXNeLQdj73UgS0j/5XYGBsoZa"
    "VpXR2OLRaD7dlzIEsqE68EpsxmlxhvXmZzBTtyfcKLvGyYkuxD2s8Aj1dSaduwa0VTDsKG"
    "SN1kHekK1RI7KAhJUhq1PVIf0350BSqgixredD7d005utJpLVQf6utrhdy56IPRlu9vDXg"
    "9EsptDXdnwmm1hczYC/dIsIvkj9BcHdbSEfJuRFD+BJxRf0vaSDIWHOQLZupOkKWS05xc6"
    "vD7rB7wJCIDAoeory1noI49vosCPXPrmWx4sPQIur4YcLLAXCAKZt3UTw0HosX4w6i0HoU"
    "ck6+49jUmmUfpQqJoDi5IamgOHa/7rH5eO7UwoCOIRqN+8kiaSe1fcWo1bRwVBIsgJb5ez"
    "68foagrtx+jylIX3XEzHrFQaS6ARsbQZc/ojAeFZdr04t4YNXwMAQ/rJM3IjFJdOY6UXa8"
    "l1W7+pTKYOelrzw2ASw4tcm/9pUnX0c8cLcegobXmZgIa8u+5DiwrPQnXTq9nw8kJN+90A"
    "AW+Kl6f7Vwm+dPVQAC8n8lVDFy/agqW1iceyEjI0FgUaC98p6ZcPIVbKjlOW046wuJ1IN+"
    "hBcaqcetdyTsRUBqyUWzTZuLccQWgYUPXQD5MLYxhQX+OoSzGguGatzn7Ki5ksQq2pNoaA"
    "1odRiE+2relnAmkzFh2RoOKFpjogyqSc91lHA1uYpHk5+SW54Hz9QjeJLzfvHw7qJ30HAO"
    "tPLhM85xI4G2qZoZb1DPfC/GTZDDYlAcVOnB+xo9MCW0DJQVYY+cifONhddAPXbdKlrpAZ"
    "fpkkv6w7pzLfHgSe5HTbqHcfM+KWfGVZnvqEOWZ/Qe/nMOQVE8AbZvPC9iFzwkLg4Kd5CK"
    "DFc6CAZGVnmSF5robYZ5vspXFCSXT6GF3ZY1vAfNrJHQ0NqscawqjBKRxPAhWD8EqilUG4"
    "V8zMbfuE6a8kivDmRDrBV8LePmCAEwbMZIGUyimUxLYE9B7pDSdjmdTptFVDndFK8vQdZx"
    "bq8UrRfWIhDtXkGfmYdtnGjyDswCRL6I/3oOo0crG1UKYh52S04xB0vz/gYEKP4/hZlR1T"
    "kNshQSZd0gbLjwnJArlsGQqEhtH66hplOcPdqHN3GWaBLj5mGWaBA4Nw4pAn7LYY+IqwOR"
    "D07UCgEFGR58X54YSuwcsNDYTvaT83tJsBPvJyhme6g098QjbF6Zb284V2ozVO+diXzaDK"
    "xdzoiNYS+azYZTiBnudgq4vMAh+TLge7/jYjRnw7sZC3h+iO9aHrlHry4cbO1i9Un/nJl5"
    "tEgwQpZQ904UWMu/p7nPJGq2ml5CKr+mjrcU0zNUjsAfLO2SGuZmy3pJcRfetPkpIGncCW"
    "6/fzqlsNEQxXBS82BS1XO0MToBTd1r/EZRT/OBC4rrNroyb39UtSWvEPORd2UrQR/PLxHq"
    "BnRhICAULuKKlciP3406xcoedAXqrQR7MoQHbVQ91Fh8YBPVAHNB9axbKHeRnt8nF0bwRf"
    "YFcJ3rS9hmHf3Sc7MZXEvh67bE+yn9Bd/S4K67f85OLaPZ+s2slUU+bN0336BU3nhCzinf"
    "k7kJQkRjZjijkIsiRarkX7wTZaeoRV+GS7ebpwC4sld92/ORKYI4EeR4IzGbrJWT3d5KxC"
    "NzFHgm1WYIOvDoECfOtLLeVEdl9raT/eua1UVRpGfgMPuTZDbSfz+0Rmfp/Uz++TyvyGYU"
    "g3XZG5unaDzIsYZkeZ2cHd9Mj3icD6Wj9zi1LakcG2k1DGcGi+El0tP+qZ9tBi3MuyhkEz"
    "YAbNNrXyd8jH1vxAoJInV0ZN+jhctVmni9cPbMca79ei7m64j9crsrU02KY8cXUMWB10rf"
    "H5ucyefn5ev6eza6XjKH2oFBBOmmuI7onUiemk4cR0IjgxETcUVkmtV2ZzIkaZVVRm97qZ"
    "/fv/AwXkbbM="
)
