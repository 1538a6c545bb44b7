"""What a call does when a module runs it: work (touches data, files, the network, a process,
the terminal, or runs the script), nothing worth a word (builds a value, sets something up),
or something the lint cannot know.

The tables below are measured against the labelled idioms of ``tests/corpus_imports.py``.
Names are as imported (``import pandas as pd``: ``pd.read_csv`` is ``pandas.read_csv``);
an entry ending in ``.`` covers a module. A call through a value the module built is judged by
that value: a client (``requests.Session()``, ``redis.Redis()``) works when asked anything but
setting up; a value the module made itself (a dict, a parser, a logger) is the module's own
business.
"""

from __future__ import annotations

WORK, UNKNOWN, PURE = 2, 1, 0


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Calls that only build a value or set the process up, by their full name.
PURE_CALLS = _set("""
    logging.getLogger logging.StreamHandler logging.NullHandler logging.Formatter
    logging.captureWarnings logging.disable logging.getLevelName logging.basicConfig
    os.environ.get os.environ.setdefault os.environ.copy os.getenv os.getcwd os.getpid os.cpu_count
    os.path. sys.path.insert sys.path.append sys.path.extend sys.setrecursionlimit sys.intern
    warnings. argparse. click. typing. collections. dataclasses. enum. functools. itertools.
    operator. re. string. textwrap. math. decimal. fractions. datetime. uuid. random. json.dumps
    json.loads json.JSONEncoder json.JSONDecoder time.time time.monotonic time.perf_counter
    time.strftime zoneinfo. pathlib.Path pathlib.PurePath pathlib.PurePosixPath
    sqlalchemy. flask.Flask flask.Blueprint atexit.register faulthandler.enable
    socket.setdefaulttimeout socket.gethostname socket.getfqdn locale.setlocale
    numpy.set_printoptions numpy.array numpy.arange numpy.zeros numpy.ones pandas.set_option
    pandas.DataFrame pandas.Series pandas.Timestamp pandas.to_datetime rich. platform.
    getpass.getuser shutil.which shutil.get_terminal_size requests.adapters. requests.auth.
    urllib3.util.Retry urllib3.Retry httpx.Timeout httpx.Limits contextvars. threading.Lock
    threading.RLock threading.Event abc. copy. types. inspect. importlib.import_module
    tempfile.gettempdir csv.field_size_limit tqdm.pandas tqdm.tqdm.pandas matplotlib.use
    str int float bool list dict set frozenset tuple range len sorted reversed enumerate zip map
    filter min max sum any all isinstance issubclass getattr hasattr setattr object type super
    property staticmethod classmethod iter next abs round repr hash id vars dir format chr ord
    bytes bytearray callable divmod pow slice globals locals NotImplementedError ValueError
    RuntimeError TypeError KeyError Exception SystemExit
""")
#: Calls that build a client: setting it up does nothing, asking it anything is work.
CLIENTS = _set("""
    requests.Session requests.session httpx.Client httpx.AsyncClient redis.Redis
    redis.StrictRedis redis.from_url redis.Redis.from_url pymongo.MongoClient boto3.client
    boto3.resource boto3.Session boto3.session.Session elasticsearch.Elasticsearch
    sqlalchemy.create_engine kafka.KafkaProducer kafka.KafkaConsumer
""")
#: What a client may be asked at import without working.
CLIENT_SET_UP = _set("mount headers auth params cookies verify proxies close hooks timeout")
#: Calls that do work, by their full name.
WORK_CALLS = _set("""
    open print input exec eval breakpoint exit quit help asyncio.run os.system os.popen
    os.remove os.unlink os.rename os.replace os.rmdir os.removedirs os.makedirs os.mkdir
    os.chdir os.chmod os.chown os.kill os.listdir os.scandir os.walk os.truncate os.startfile
    io.open time.sleep sys.exit subprocess. shutil. socket. smtplib. ftplib. telnetlib.
    urllib.request. http.client. requests.get requests.post requests.put requests.patch
    requests.delete requests.head requests.options requests.request httpx.get httpx.post
    httpx.put httpx.patch httpx.delete httpx.head httpx.options httpx.request httpx.stream
    tempfile. psycopg2.connect psycopg.connect pymysql.connect MySQLdb.connect sqlite3.connect
    cx_Oracle.connect oracledb.connect pyodbc.connect pandas.read_ numpy.load numpy.loadtxt
    numpy.genfromtxt numpy.fromfile numpy.save numpy.savez numpy.savetxt pickle.load
    pickle.dump openpyxl.load_workbook xlrd.open_workbook glob. logging.FileHandler
    logging.handlers. webbrowser. dotenv.load_dotenv
""")
#: Methods that do work on whatever they are called on: databases, files, queues.
WORK_METHODS = _set("""
    execute executemany executescript fetchall fetchone fetchmany commit rollback flush scalar
    scalars add_all bulk_save_objects bulk_insert_mappings bulk_update_mappings create_all
    drop_all connect begin run_until_complete invoke parse_args read_text read_bytes write_text
    write_bytes mkdir unlink rmdir touch iterdir rglob symlink_to hardlink_to chmod open
    to_csv to_excel to_sql to_parquet to_pickle to_feather to_hdf to_json delay apply_async
    send_task find_one insert_one insert_many update_one update_many delete_one delete_many
    replace_one aggregate count_documents bulk_write find_one_and_update find_one_and_delete
    find_one_and_replace create_index hset hget hgetall hdel lpush rpush lpop rpop lrange sadd
    srem smembers zadd zrange zrem incr decr expire setex mget mset flushdb flushall publish
    scan_iter list_objects list_objects_v2 download_file upload_file put_object get_object
    delete_object push
""")
#: Methods that work through some objects and build values on others (``str.find``,
#: ``dict.keys``): work through a client, or a chain as deep as ``mongo.db.orders.find``.
MAYBE_WORK_METHODS = _set("find get set keys delete search index send produce")
#: Names that run the script (or the app) when called: never at import.
ENTRY_POINTS = _set("main run cli app_main create_app make_app")
#: Words in the name of a function which fetches or changes things (``load_rows``,
#: ``create_connection``, ``get_db``).
WORK_WORDS = _set("""
    load read fetch download upload send delete remove drop write save dump export import sync
    migrate connect connection conn query insert update execute run init purge flush truncate
    open db
""")
#: Words that start the name of a function which sets the process up (``np.random.seed``,
#: ``plt.switch_backend``, ``configure_logging``): called for that, not for work.
SETUP_VERBS = _set("seed switch enable disable register use install configure setup")


def classify(name: str) -> int | None:
    """What calling ``name`` (a full dotted name, ``requests.get``) does: WORK, PURE, CLIENT,
    or None when no table knows it. An exact entry wins, then the longest module prefix."""
    if name in PURE_CALLS:
        return PURE
    if name in CLIENTS:
        return CLIENT
    if name in WORK_CALLS:
        return WORK
    best, level = 0, None
    for prefix, prefix_level in _PREFIXES:
        if len(prefix) > best and name.startswith(prefix):
            best, level = len(prefix), prefix_level
    return level


CLIENT = 3
_PREFIXES = tuple((entry, level) for table, level in ((PURE_CALLS, PURE), (WORK_CALLS, WORK))
                  for entry in table if entry.endswith((".", "_")))


def sounds_like_work(name: str) -> bool:
    """Whether a function's own name says it fetches or changes things (``load_orders``)."""
    return any(word in WORK_WORDS for word in name.rsplit(".", 1)[-1].lower().split("_"))


def sounds_like_setup(name: str) -> bool:
    """Whether a function's own name says it sets the process up (``set_option``, ``seed``;
    not a bare ``set``, a cache's)."""
    words = name.rsplit(".", 1)[-1].lower().split("_")
    return words[0] in SETUP_VERBS or (words[0] == "set" and len(words) > 1)
