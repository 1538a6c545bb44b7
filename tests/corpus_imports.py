"""A labelled corpus of module-level idioms: harmless ones, and ones that do work on import.

What the import side-effect rule is for: importing a script (``opsctl list``, tests,
``--help``, ``opsctl run`` before its entry point) must not touch data, files or the network,
nor start anything. Each entry is ``(name, source, label)``; ``source`` sits at module level
of a recycle script after its docstring, and ``label`` is ``harmless`` or ``work`` as a
careful reviewer would judge it, not as the lint does: ``tests/test_lint_corpus.py``
measures the lint against these labels.
"""

from __future__ import annotations

Idiom = tuple[str, str, str]

HARMLESS: list[tuple[str, str]] = [
    ("argparse at module level",
     "import argparse\nparser = argparse.ArgumentParser(description='x')\n"
     "parser.add_argument('--limit', type=int, default=10)\n"
     "parser.add_argument('--dry-run', action='store_true')\n"),
    ("argparse subcommands",
     "import argparse\nparser = argparse.ArgumentParser()\nsub = parser.add_subparsers()\n"
     "one = sub.add_parser('one')\none.set_defaults(func=print)\n"),
    ("sys.path.insert", "import os\nimport sys\n"
                        "sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))\n"),
    ("sys.path.append of a Path", "import sys\nfrom pathlib import Path\n"
                                  "sys.path.append(str(Path(__file__).resolve().parent.parent))\n"),
    ("warnings.filterwarnings",
     "import warnings\nwarnings.filterwarnings('ignore', category=DeprecationWarning)\n"),
    ("warnings.simplefilter", "import warnings\nwarnings.simplefilter('ignore')\n"),
    ("a constant from the script's own helper",
     "import os\n\ndef _default_limit():\n    return int(os.environ.get('LIMIT', '100'))\n\n"
     "LIMIT = _default_limit()\n"),
    ("a helper building a mapping",
     "def _columns():\n    return {'id': int, 'name': str}\n\nCOLUMNS = _columns()\n"),
    ("a version check that raises",
     "import sys\nif sys.version_info < (3, 11):\n    raise SystemExit('needs Python 3.11')\n"),
    ("a missing setting that raises",
     "import os\nif 'DATABASE_URL' not in os.environ:\n"
     "    raise RuntimeError('set DATABASE_URL')\n"),
    ("requests.Session()", "import requests\nsession = requests.Session()\n"
                           "session.headers.update({'User-Agent': 'ops'})\n"),
    ("requests retries mounted",
     "import requests\nfrom requests.adapters import HTTPAdapter\nfrom urllib3.util import Retry\n"
     "session = requests.Session()\n"
     "session.mount('https://', HTTPAdapter(max_retries=Retry(total=3)))\n"),
    ("httpx.Client()", "import httpx\nclient = httpx.Client(timeout=10)\n"),
    ("a loop filling a registry",
     "HANDLERS = {}\nfor _name in ('csv', 'json', 'xlsx'):\n    HANDLERS[_name] = _name.upper()\n"),
    ("a loop registering functions",
     "def export_csv():\n    pass\n\ndef export_json():\n    pass\n\nREGISTRY = []\n"
     "for _fn in (export_csv, export_json):\n    REGISTRY.append(_fn)\n"),
    ("a main guard with an extra and",
     "import sys\n\ndef main():\n    pass\n\n"
     "if __name__ == '__main__' and len(sys.argv) > 1:\n    main()\n"),
    ("a main guard with and, reversed",
     "import os\n\ndef main():\n    pass\n\n"
     "if not os.environ.get('SKIP') and __name__ == '__main__':\n    main()\n"),
    ("logging.getLogger", "import logging\nlog = logging.getLogger(__name__)\n"),
    ("logging.basicConfig to stderr",
     "import logging\nlogging.basicConfig(level=logging.INFO, format='%(message)s')\n"),
    ("a logger's level and handler",
     "import logging\nlog = logging.getLogger(__name__)\nlog.setLevel(logging.DEBUG)\n"
     "log.addHandler(logging.StreamHandler())\n"),
    ("re.compile", "import re\nPATTERN = re.compile(r'(\\d+)([dh])')\n"),
    ("a path beside the script", "from pathlib import Path\n"
                                 "HERE = Path(__file__).resolve().parent\nDATA = HERE / 'data'\n"),
    ("environment lookups", "import os\nURL = os.environ.get('URL', 'http://localhost')\n"
                            "BATCH = int(os.getenv('BATCH', '500'))\n"),
    ("os.environ.setdefault", "import os\nos.environ.setdefault('TZ', 'UTC')\n"),
    ("a dataclass and an instance",
     "from dataclasses import dataclass, field\n\n@dataclass\nclass Options:\n"
     "    tags: list = field(default_factory=list)\n\nDEFAULTS = Options()\n"),
    ("TypeVar and NewType", "from typing import NewType, TypeVar\nT = TypeVar('T')\n"
                            "OrderId = NewType('OrderId', int)\n"),
    ("an optional import", "try:\n    import orjson as json\nexcept ImportError:\n"
                           "    import json\n"),
    ("TYPE_CHECKING imports", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                              "    from flask import Flask\n"),
    ("click options", "import click\nCHOICE = click.Choice(['csv', 'json'])\n\n"
                      "@click.command()\n@click.option('--fmt', type=CHOICE)\n"
                      "def main(fmt):\n    pass\n"),
    ("a dict built and updated", "CONFIG = dict(limit=10)\nCONFIG.update(dry_run=False)\n"
                                 "SEEN = set()\nSEEN.add('x')\n"),
    ("a namedtuple", "from collections import namedtuple\nRow = namedtuple('Row', 'id name')\n"),
    ("a SQLAlchemy text and table",
     "from sqlalchemy import Column, Integer, MetaData, Table, text\nmetadata = MetaData()\n"
     "orders = Table('orders', metadata, Column('id', Integer))\n"
     "QUERY = text('SELECT id FROM orders WHERE status = :s')\n"),
    ("create_engine without connecting",
     "import os\nfrom sqlalchemy import create_engine\n"
     "engine = create_engine(os.environ.get('DB', 'sqlite://'))\n"),
    ("a debug switch", "import logging\nimport os\nif os.environ.get('DEBUG'):\n"
                       "    logging.getLogger().setLevel(logging.DEBUG)\n"),
    ("assert the interpreter", "import sys\nassert sys.version_info >= (3, 11)\n"),
    ("atexit.register", "import atexit\n\ndef _bye():\n    pass\n\natexit.register(_bye)\n"),
    ("faulthandler.enable", "import faulthandler\nfaulthandler.enable()\n"),
    ("today's date", "import datetime\nTODAY = datetime.date.today()\n"
                     "NOW = datetime.datetime.now()\n"),
    ("random.seed", "import random\nrandom.seed(42)\n"),
    ("pandas and numpy display options",
     "import numpy as np\nimport pandas as pd\npd.set_option('display.max_columns', 50)\n"
     "np.set_printoptions(precision=3)\n"),
    ("socket default timeout", "import socket\nsocket.setdefaulttimeout(10)\n"),
    ("a comprehension over a literal", "COLUMNS = [c.strip() for c in 'id, name'.split(',')]\n"),
    ("warnings caught around an import",
     "import warnings\nwith warnings.catch_warnings():\n    warnings.simplefilter('ignore')\n"
     "    import json\n"),
    ("a version string and __all__", "__version__ = '1.0'\n__all__ = ['main']\n"),
    ("del of an import", "import os\nBASE = os.sep\ndel os\n"),
    ("a rich console", "from rich.console import Console\nconsole = Console(stderr=True)\n"),
    ("a declarative base",
     "from sqlalchemy.orm import declarative_base\nBase = declarative_base()\n"),
    ("a docstring-only expression", "...\n"),
]

WORK: list[tuple[str, str]] = [
    ("pd.read_csv", "import pandas as pd\ndf = pd.read_csv('orders.csv')\n"),
    ("Path.read_text", "from pathlib import Path\nSQL = Path('query.sql').read_text()\n"),
    ("Path.read_text of a path beside the script",
     "from pathlib import Path\nHERE = Path(__file__).parent\n"
     "SQL = (HERE / 'query.sql').read_text(encoding='utf-8')\n"),
    ("psycopg2.connect",
     "import os\nimport psycopg2\nconn = psycopg2.connect(os.environ['DSN'])\n"),
    ("redis keys", "import redis\nr = redis.Redis()\nKEYS = r.keys('order:*')\n"),
    ("fetchall", "import sqlite3\ncur = sqlite3.connect('x.db').cursor()\n"
                 "rows = cur.fetchall()\n"),
    ("fetchall on an imported cursor", "from app.db import cursor\nROWS = cursor.fetchall()\n"),
    ("a Mongo find", "from pymongo import MongoClient\nclient = MongoClient()\n"
                     "docs = list(client.shop.orders.find({'status': 'new'}))\n"),
    ("a Mongo find through an imported db", "from app import mongo\n"
                                            "DOCS = list(mongo.db.orders.find())\n"),
    ("tempfile.mkdtemp", "import tempfile\nTMP = tempfile.mkdtemp()\n"),
    ("create_app()", "from app import create_app\napp = create_app()\n"),
    ("an app context pushed", "from app import app\napp.app_context().push()\n"),
    ("main() at the bottom", "def main():\n    pass\n\nmain()\n"),
    ("sys.exit(main())", "import sys\n\ndef main():\n    return 0\n\nsys.exit(main())\n"),
    ("a session execute", "from app import db\nfrom sqlalchemy import text\n"
                          "db.session.execute(text('DELETE FROM orders'))\n"),
    ("a query delete", "from app import Order\nOrder.query.filter_by(status='x').delete()\n"),
    ("a session commit", "from app import db\ndb.session.commit()\n"),
    ("a query in an assignment", "from app import Order\nORDERS = Order.query.all()\n"),
    ("scalars on a session", "from app import Order, db\nfrom sqlalchemy import select\n"
                             "ROWS = db.session.scalars(select(Order)).all()\n"),
    ("requests.get", "import requests\nPAGE = requests.get('https://example.com').text\n"),
    ("a get on a requests session", "import requests\nsession = requests.Session()\n"
                                    "RESP = session.get('https://example.com')\n"),
    ("httpx.post", "import httpx\nhttpx.post('https://example.com', json={})\n"),
    ("a with open that writes", "with open('out.csv', 'w') as fh:\n    fh.write('id\\n')\n"),
    ("json.load of an open file", "import json\nCONFIG = json.load(open('config.json'))\n"),
    ("print on import", "print('loading the export')\n"),
    ("os.makedirs", "import os\nos.makedirs('out', exist_ok=True)\n"),
    ("Path.mkdir", "from pathlib import Path\nPath('out').mkdir(exist_ok=True)\n"),
    ("Path.write_text", "from pathlib import Path\nPath('done.flag').write_text('1')\n"),
    ("os.remove", "import os\nos.remove('stale.lock')\n"),
    ("shutil.rmtree", "import shutil\nshutil.rmtree('cache', ignore_errors=True)\n"),
    ("subprocess.run", "import subprocess\nsubprocess.run(['ls'], check=True)\n"),
    ("os.system", "import os\nos.system('rm -f /tmp/x')\n"),
    ("time.sleep", "import time\ntime.sleep(5)\n"),
    ("an engine connect", "from sqlalchemy import create_engine\n"
                          "conn = create_engine('sqlite://').connect()\n"),
    ("sqlite3.connect", "import sqlite3\nDB = sqlite3.connect('orders.db')\n"),
    ("a cursor execute", "from app.db import cursor\ncursor.execute('UPDATE t SET x = 1')\n"),
    ("a loop over a query", "from app import Order\nfor o in Order.query.all():\n"
                            "    o.status = 'x'\n"),
    ("a with app context", "from app import app, db\nwith app.app_context():\n"
                           "    db.create_all()\n"),
    ("smtplib.SMTP", "import smtplib\nSERVER = smtplib.SMTP('localhost')\n"),
    ("openpyxl.load_workbook", "import openpyxl\nWB = openpyxl.load_workbook('orders.xlsx')\n"),
    ("pickle.load", "import pickle\nMODEL = pickle.load(open('model.pkl', 'rb'))\n"),
    ("np.load", "import numpy as np\nARR = np.load('x.npy')\n"),
    ("df.to_csv", "import pandas as pd\npd.DataFrame({'a': [1]}).to_csv('out.csv')\n"),
    ("urllib urlopen", "from urllib.request import urlopen\nBODY = urlopen('https://x').read()\n"),
    ("asyncio.run", "import asyncio\n\nasync def main():\n    pass\n\nasyncio.run(main())\n"),
    ("input()", "ANSWER = input('continue? ')\n"),
    ("a celery delay", "from app.tasks import rebuild\nrebuild.delay(1)\n"),
    ("elasticsearch search", "from elasticsearch import Elasticsearch\nes = Elasticsearch()\n"
                             "HITS = es.search(index='orders')\n"),
    ("boto3 list_objects", "import boto3\ns3 = boto3.client('s3')\n"
                           "KEYS = s3.list_objects_v2(Bucket='b')\n"),
    ("glob of a data folder", "import glob\nFILES = glob.glob('data/*.csv')\n"),
    ("os.listdir", "import os\nNAMES = os.listdir('exports')\n"),
    ("os.chdir", "import os\nos.chdir('/tmp')\n"),
    ("logging to a file", "import logging\nlogging.basicConfig(filename='export.log')\n"),
    ("a FileHandler", "import logging\nHANDLER = logging.FileHandler('export.log')\n"),
    ("a while loop polling", "import time\nwhile True:\n    time.sleep(1)\n"),
    ("a comprehension that deletes", "from app import Order\n"
                                     "[o.delete() for o in Order.query.all()]\n"),
    ("redis set through an imported client", "from app import redis_client\n"
                                             "redis_client.set('warm', 1)\n"),
    ("a Kafka send", "from kafka import KafkaProducer\nproducer = KafkaProducer()\n"
                     "producer.send('orders', b'x')\n"),
    ("engine.begin block", "from sqlalchemy import create_engine, text\n"
                           "engine = create_engine('sqlite://')\nwith engine.begin() as conn:\n"
                           "    conn.execute(text('DELETE FROM t'))\n"),
    ("load_workbook in a loop", "import openpyxl\nBOOKS = []\nfor name in ('a.xlsx', 'b.xlsx'):\n"
                                "    BOOKS.append(openpyxl.load_workbook(name))\n"),
]

#: Written after the rule's tables, to see how they do on idioms they were not built from.
LATER: list[Idiom] = [
    ("matplotlib's backend", "import matplotlib.pyplot as plt\nplt.switch_backend('Agg')\n",
     "harmless"),
    ("tqdm for pandas", "from tqdm import tqdm\ntqdm.pandas()\n", "harmless"),
    ("numpy's random seed", "import numpy as np\nnp.random.seed(0)\n", "harmless"),
    ("the csv field size", "import csv\nimport sys\ncsv.field_size_limit(sys.maxsize)\n",
     "harmless"),
    ("a pandas option by attribute", "import pandas as pd\npd.options.display.width = 200\n",
     "harmless"),
    ("the decimal context", "import decimal\ndecimal.getcontext().prec = 10\n", "harmless"),
    ("an httpx timeout", "import httpx\nTIMEOUT = httpx.Timeout(10.0)\n", "harmless"),
    ("a websocket connection", "import websocket\n"
                               "WS = websocket.create_connection('ws://x')\n", "work"),
    ("an S3 download", "import boto3\ns3 = boto3.resource('s3')\n"
                       "s3.Bucket('b').download_file('k', 'f')\n", "work"),
    ("an FTP connection", "from ftplib import FTP\nftp = FTP('host')\n", "work"),
    ("pd.read_sql", "import pandas as pd\nfrom app import engine\n"
                    "DF = pd.read_sql('select 1', engine)\n", "work"),
    ("yaml of an open file", "import yaml\nCONFIG = yaml.safe_load(open('c.yml'))\n", "work"),
    ("an image opened", "from PIL import Image\nIMG = Image.open('logo.png')\n", "work"),
    ("a cache set", "from app import cache\ncache.set('warm', 1)\n", "work"),
    ("an engine execute", "from app import db\ndb.engine.execute('DELETE FROM t')\n", "work"),
    ("a Spark session", "from pyspark.sql import SparkSession\n"
                        "spark = SparkSession.builder.getOrCreate()\n", "work"),
    ("a connection from a helper", "from app.db import get_db\nCONN = get_db()\n", "work"),
    ("an environment variable read from a file",
     "import os\nos.environ['TOKEN'] = open('token.txt').read()\n", "work"),
]

CORPUS: list[Idiom] = [(n, s, "harmless") for n, s in HARMLESS] + \
    [(n, s, "work") for n, s in WORK] + LATER
