"""All Tortoise models, one module per aggregate. Tortoise discovers them from this package."""
from server.models.accounts import PrincipalChange, RoleGrant, User  # noqa: F401
from server.models.audit import AuditLog  # noqa: F401
from server.models.catalog import Brand, Category, Certification, Product, Sku  # noqa: F401
from server.models.merchants import Merchant  # noqa: F401
from server.models.orders import Order, OrderLine  # noqa: F401
from server.models.stations import Station  # noqa: F401
from server.models.training import (Course, Enrolment, Incubation, Lecturer, Milestone, SessionFile,  # noqa: F401
                                    SessionLecturer, SignIn, Trainee, TrainingScanMark, TrainingSession)
from server.models.pickup import Pickup, PickupReturn, StationAlert  # noqa: F401
from server.models.catalog_reviews import ProductReview  # noqa: F401
from server.models.orders import OrderEvent; from server.models.payments import Payment, PaymentNotification, ReconcileDifference, Refund; from server.models.ledger import LedgerEntry; from server.models.cart import CartItem  # noqa: F401,E501,E702,I001
from server.models.live import LivePurchase, LiveRoom, LiveSession, LiveSessionFigures, LiveStreamEvent, LivestreamerProfile, LiveTieIn  # noqa: F401,E501
from server.models.fulfillment import DeliveryPromise, FulfillmentTask, InboundLine, InboundNote, InboundScan, Parcel, ParcelLine, PickRecord, ScanEvent, SkuBin, TaskLine, WmsInbox, WmsOutbox  # noqa: F401,E501
from server.models.stations import StationVillager  # noqa: F401
from server.models.stats import ScreenToken, StatDaily  # noqa: F401
from server.models.trace import Batch, BatchCorrection, BatchInspection, BatchStep, Recall, RecallContact, TraceCode, TraceFlag, TraceScan, TraceSmsInbound  # noqa: F401,E501
from server.models.settlement import FeeTerm, SettledEntry, Statement, StatementLine  # noqa: F401
from server.models.payouts import Payee, PayeeChange, PayoutBatch, PayoutLine, WithdrawalRequest  # noqa: F401
from server.models.inventory import StockMove  # noqa: F401
from server.models.cash import CashHandover  # noqa: F401
from server.models.live_consent import LiveConsent, LivePoolProduct  # noqa: F401
from server.models.collection import Collection, CollectionScan  # noqa: F401  (#26 first-mile collection)
from server.models.line_reviews import LineReview, RatingSummary  # noqa: F401  (#30 reviews)
from server.models.content import ContentItem  # noqa: F401  (#30 content)
from server.models.complaints import Complaint  # noqa: F401  (complaints and reports, #26)
from server.models.addresses import Address  # noqa: F401
from server.models.freight import FreightTemplate  # noqa: F401
from server.models.promotions import Campaign, Coupon, UserCoupon  # noqa: F401
from server.models.aftersales import AfterSale, AfterSalesPolicy, AfterSalesWindow, AfterSaleStep  # noqa: F401
from server.models.fulfillment import UnpickItem  # noqa: F401
from server.models.presale import PresaleOffer, PresaleOrder  # noqa: F401
# notifications and sharing (issue #29)
from server.models.notify import LiveBooking, NotifyOutbox, SubscribeChoice  # noqa: F401
from server.models.sharing import Share, ShareAttribution  # noqa: F401
